"""Built-in webhook alert channel (in progress)."""
