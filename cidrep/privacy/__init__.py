"""Data rights: export, restore, deletion that really deletes, retention, disclosure.

Each module owns one rule; the SQL lives in ``cidrep.store`` (``scope``, ``dump``,
``load``, ``erase``, ``retention``, ``audit``):

- ``export``: everything held about a scope, streamed, in the versioned format of
  ``schema`` (``docs/export.schema.json``);
- ``restore``: an export back into a database, all or nothing;
- ``erase``: delete a scope in one transaction, then make the bytes unrecoverable,
  with a receipt that identifies no one;
- ``retention``: age out history, sightings, flips, deliveries and runs;
- ``disclosure``: ``cidrep privacy``, generated from the code and the config;
- every export, restore, deletion and prune is written to the audit log.
"""

from __future__ import annotations

import getpass
import os


def os_user() -> str:
    """The OS user running cidrep (the uid where the name cannot be looked up)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
