"""Built-in slack alert channel (in progress)."""
