"""Ordered schema migrations (sqlite-utils ``Migrations``).

Each migration runs in a transaction with its record; never edit one that has
shipped, add a new one. The schema is shaped for what comes later: alerts read
observation transitions by id, reports read run-length rows, deletion cascades from
accounts and numbers, and nothing secret is ever stored.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("cidrep")

VERDICTS = "('clean','flagged','unknown','error')"


@migrations()
def m001_initial(db: Database) -> None:
    db.executescript(
        f"""
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            email TEXT,
            created_at TEXT NOT NULL
        );
        INSERT INTO accounts (name, created_at)
            VALUES ('default', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));

        CREATE TABLE numbers (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            e164 TEXT NOT NULL,
            label TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            paused_at TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (account_id, e164)
        );
        CREATE INDEX numbers_e164 ON numbers (e164);

        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            account TEXT,
            forced INTEGER NOT NULL DEFAULT 0,
            checks INTEGER NOT NULL DEFAULT 0,
            flagged INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            exit_code INTEGER
        );

        CREATE TABLE run_sources (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            checks INTEGER NOT NULL DEFAULT 0,
            clean INTEGER NOT NULL DEFAULT 0,
            flagged INTEGER NOT NULL DEFAULT 0,
            unknown INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            cost_units REAL NOT NULL DEFAULT 0,
            message TEXT,
            stats TEXT NOT NULL DEFAULT '{{}}',
            PRIMARY KEY (run_id, source)
        );

        -- Run-length history: one row per stretch of identical observations.
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN {VERDICTS}),
            label TEXT,
            category TEXT,
            score INTEGER CHECK (score IS NULL OR score BETWEEN 0 AND 100),
            evidence TEXT NOT NULL DEFAULT '{{}}',
            url TEXT,
            error TEXT,
            fingerprint TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            checks INTEGER NOT NULL DEFAULT 1,
            first_run_id INTEGER,
            last_run_id INTEGER
        );
        CREATE INDEX observations_number_source ON observations (number_id, source, id);

        -- Feed records that named a monitored number (e.g. FTC complaints).
        CREATE TABLE sightings (
            id INTEGER PRIMARY KEY,
            number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            key TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{{}}',
            run_id INTEGER,
            UNIQUE (number_id, source, key)
        );
        CREATE INDEX sightings_source_number ON sightings (source, number_id);

        CREATE TABLE feeds (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            last_success_at TEXT,
            updated_at TEXT NOT NULL
        );
        """
    )
