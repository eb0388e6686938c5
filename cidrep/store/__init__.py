"""SQLite storage through sqlite-utils: schema migrations and small repositories."""

from cidrep.store.database import open_db

__all__ = ["open_db"]
