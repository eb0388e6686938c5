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


@migrations()
def m003_alerts(db: Database) -> None:
    """Alert state, the flips log and the delivery outbox.

    - ``alert_sources``: the confirmed verdict per (number, source);
    - ``alert_numbers``: per number, the quorum state, what was last announced, recent
      flip times, flapping, mute and reminder;
    - ``alert_sources_health``: per source, whether "source failing" was announced;
    - ``flips``: every change, append-only (reports read it); ``alert`` holds the
      message as sent, for the kinds that notify;
    - ``deliveries``: one row per (flip, channel), written with the flip: the outbox;
    - ``channel_state``: each channel's last success and failure;
    - ``account_channels``: which channels an account's alerts go to;
    - ``alert_marks``: where the last evaluation got to.

    Existing state is seeded as already announced, so upgrading a database with
    flagged numbers does not send a storm of alerts for old news.
    """
    db.executescript(
        """
        CREATE TABLE alert_sources (
            number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            state TEXT CHECK (state IS NULL OR state IN ('flagged', 'clean')),
            since TEXT,
            PRIMARY KEY (number_id, source)
        ) WITHOUT ROWID;

        CREATE TABLE alert_numbers (
            number_id INTEGER PRIMARY KEY REFERENCES numbers(id) ON DELETE CASCADE,
            state TEXT CHECK (state IS NULL OR state IN ('flagged', 'clean')),
            since TEXT,
            notified TEXT,
            notified_at TEXT,
            flips TEXT NOT NULL DEFAULT '[]',
            flapping_since TEXT,
            muted_until TEXT,
            reminded_at TEXT,
            flagged_at TEXT
        );
        CREATE INDEX alert_numbers_flapping ON alert_numbers (flapping_since)
            WHERE flapping_since IS NOT NULL;
        CREATE INDEX alert_numbers_muted ON alert_numbers (muted_until)
            WHERE muted_until IS NOT NULL;
        CREATE INDEX alert_numbers_flagged ON alert_numbers (notified_at)
            WHERE state = 'flagged';

        CREATE TABLE alert_sources_health (
            source TEXT PRIMARY KEY,
            failing INTEGER NOT NULL DEFAULT 0,
            since TEXT,
            last_error TEXT
        );

        CREATE TABLE flips (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            at TEXT NOT NULL,
            run_id INTEGER,
            kind TEXT NOT NULL,
            number_id INTEGER REFERENCES numbers(id) ON DELETE CASCADE,
            source TEXT,
            old_state TEXT,
            new_state TEXT,
            held TEXT,
            alert TEXT
        );
        CREATE INDEX flips_at ON flips (at);
        CREATE INDEX flips_number ON flips (number_id, at);

        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            flip_id INTEGER NOT NULL REFERENCES flips(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'expired')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_try TEXT NOT NULL,
            claimed_at TEXT,
            delivered_at TEXT,
            last_error TEXT,
            UNIQUE (flip_id, channel)
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_try);

        CREATE TABLE channel_state (
            channel TEXT PRIMARY KEY,
            last_success TEXT,
            last_failure TEXT,
            last_error TEXT,
            permanent INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE account_channels (
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            PRIMARY KEY (account_id, channel)
        ) WITHOUT ROWID;

        CREATE TABLE alert_marks (
            name TEXT PRIMARY KEY,
            value TEXT
        );

        CREATE INDEX source_state_checked ON source_state (last_checked);

        INSERT INTO alert_sources (number_id, source, state, since)
            SELECT number_id, source, verdict, since FROM source_state
            WHERE verdict IN ('flagged', 'clean');
        INSERT INTO alert_numbers (number_id, state, since, notified, notified_at, flagged_at)
            SELECT number_id,
                   CASE WHEN max(state = 'flagged') THEN 'flagged' ELSE 'clean' END,
                   min(since),
                   CASE WHEN max(state = 'flagged') THEN 'flagged' ELSE 'clean' END,
                   strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                   min(CASE WHEN state = 'flagged' THEN since END)
            FROM alert_sources GROUP BY number_id;
        INSERT INTO alert_marks (name, value)
            SELECT 'evaluated', max(last_checked) FROM source_state;
        """
    )


@migrations()
def m004_privacy(db: Database) -> None:
    """Opaque refs, the audit log, and the indexes retention prunes by.

    - ``accounts.ref``/``numbers.ref``: a random id per row, set by a trigger when a
      row is inserted without one. The audit log names a scope by these refs, never by
      a name or a number, so an entry that outlives a deletion identifies no one.
    - ``audit``: every export, restore, deletion and prune: when, which OS user, the
      action, the scope (refs) and the row counts. No foreign key: it survives the
      deletion it describes, and holds no personal data.
    - ``privacy_marks``: when retention last ran.
    - Indexes on the time column of each table that retention prunes, so the prune at
      the end of every check is an index range, never a scan.
    """
    db.executescript(
        """
        ALTER TABLE accounts ADD COLUMN ref TEXT;
        ALTER TABLE numbers ADD COLUMN ref TEXT;
        UPDATE accounts SET ref = lower(hex(randomblob(8)));
        UPDATE numbers SET ref = lower(hex(randomblob(8)));
        CREATE UNIQUE INDEX accounts_ref ON accounts (ref);
        CREATE UNIQUE INDEX numbers_ref ON numbers (ref);
        CREATE TRIGGER accounts_ref_set AFTER INSERT ON accounts WHEN NEW.ref IS NULL
        BEGIN
            UPDATE accounts SET ref = lower(hex(randomblob(8))) WHERE id = NEW.id;
        END;
        CREATE TRIGGER numbers_ref_set AFTER INSERT ON numbers WHEN NEW.ref IS NULL
        BEGIN
            UPDATE numbers SET ref = lower(hex(randomblob(8))) WHERE id = NEW.id;
        END;

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,
            at TEXT NOT NULL,
            os_user TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('export', 'restore', 'delete', 'prune')),
            scope TEXT NOT NULL,
            refs TEXT NOT NULL DEFAULT '[]',
            counts TEXT NOT NULL DEFAULT '{}',
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_at ON audit (at);

        CREATE TABLE privacy_marks (
            name TEXT PRIMARY KEY,
            value TEXT
        );

        CREATE INDEX observations_last_seen ON observations (last_seen);
        CREATE INDEX sightings_occurred ON sightings (occurred_at);
        CREATE INDEX runs_started ON runs (started_at);
        CREATE INDEX runs_account ON runs (account) WHERE account IS NOT NULL;
        """
    )


@migrations()
def m005_carriers(db: Database) -> None:
    """Per-carrier history and state, and the sources that are recorded, not polled.

    - ``observations.carrier``: the carrier or app a history row is about; NULL is the
      source's own verdict (every row stored before this migration), so nothing
      already stored changes meaning.
    - ``carrier_state``: the current state per (number, source, carrier), the same
      columns as ``source_state`` (``cidrep.history.advance`` moves both). The
      source-level row in ``source_state`` stays what due selection, the exit code
      and the alerts read; it is summed up from the carriers
      (``cidrep.carriers.summarize``).
    - ``recorded_sources``: sources whose observations are recorded by people or
      imported from files (``cidrep sighting``, ``cidrep labels import``) rather than
      polled: they are never "stale", since nobody promised a next check.
    """
    db.executescript(
        f"""
        ALTER TABLE observations ADD COLUMN carrier TEXT;
        CREATE INDEX observations_carrier ON observations (number_id, source, carrier, id)
            WHERE carrier IS NOT NULL;

        CREATE TABLE carrier_state (
            number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            carrier TEXT NOT NULL,
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
            PRIMARY KEY (number_id, source, carrier)
        ) WITHOUT ROWID;

        CREATE TABLE recorded_sources (
            source TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('manual', 'import')),
            first_at TEXT NOT NULL
        );
        """
    )
