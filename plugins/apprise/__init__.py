"""Built-in apprise alert channel (in progress)."""
