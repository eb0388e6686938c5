"""cidrep: caller-ID reputation monitoring agent."""

__version__ = "0.1.0"
