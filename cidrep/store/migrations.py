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


@migrations()
def m002_current_state(db: Database) -> None:
    """Current state per (number, source), feed progress items, failures, run status.

    ``source_state`` is what status, report, the due selection and the writer read
    (indexed, never the history). Existing history is replayed into it, so nothing
    already stored is lost. ``feed_items`` records each feed item (e.g. an FTC file's
    date) once it is fully ingested, so a late file is still read and none is read
    twice. ``runs.status`` is running, finished, failed or abandoned.
    """
    from cidrep.history import replay

    db.executescript(
        f"""
        CREATE TABLE source_state (
            number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            verdict TEXT CHECK (verdict IS NULL OR verdict IN {VERDICTS}),
            since TEXT,
            streak INTEGER NOT NULL DEFAULT 0,
            verdict_obs_id INTEGER,
            obs_id INTEGER,
            fingerprint TEXT,
            last_checked TEXT,
            last_success TEXT,
            last_failure TEXT,
            last_error TEXT,
            error_streak INTEGER NOT NULL DEFAULT 0,
            checks INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (number_id, source)
        ) WITHOUT ROWID;
        CREATE INDEX source_state_source ON source_state (source, last_success);

        CREATE TABLE feed_items (
            source TEXT NOT NULL,
            item TEXT NOT NULL,
            done_at TEXT NOT NULL,
            PRIMARY KEY (source, item)
        ) WITHOUT ROWID;

        ALTER TABLE feeds ADD COLUMN last_failure_at TEXT;
        ALTER TABLE feeds ADD COLUMN last_error TEXT;
        ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'finished';
        UPDATE runs SET status = 'abandoned' WHERE finished_at IS NULL;
        """
    )
    from cidrep.store.state import COLUMNS, upsert_sql

    rows: list[dict] = []
    key: tuple[int, str] | None = None

    def flush() -> None:
        state = replay(rows)
        if key is not None and state is not None:
            values = state.__dict__
            db.execute(upsert_sql(), [key[0], key[1], *(values[c] for c in COLUMNS)])

    for row in db.query("SELECT * FROM observations ORDER BY number_id, source, id"):
        current = (row["number_id"], row["source"])
        if current != key:
            flush()
            key, rows = current, []
        rows.append(row)
    flush()
