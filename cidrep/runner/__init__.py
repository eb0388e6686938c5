"""The check runner: HTTP policy (rate limit, retries) and the check cycle."""
