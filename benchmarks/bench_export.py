"""Benchmark: `cidrep export` and `cidrep restore` of one large account, time and peak RSS.

    python benchmarks/bench_export.py [--sizes 1000 10000 100000] [--keep]

For each size N it builds a database (fast ``executemany`` SQL, no check cycle) with one
account ``A`` holding N numbers, each with a few rows of every kind an export carries:

- 3 history rows (ftc: an old clean stretch, then the current flagged one; fcc: clean),
  2 current-state rows pointing at them, 1 FTC sighting, alert state (1 number row,
  2 confirmed sources);
- every 10th number also has a flip with one delivery;
- 24 runs scoped to the account, named by the rows.

Then it runs the real CLI as a whole child process (``python -m cidrep``, config and
database in a tmp dir, nothing leaves the machine) and reads its wall time and peak
RSS (``/usr/bin/time -v`` when present, else ``os.wait4`` of the child alone):

1. ``cidrep --db DB export --account A -o FILE`` (JSON, the default), and with
   ``--format jsonl``; the size of each file;
2. ``cidrep --db NEW restore FILE`` of each into an empty database.

The export is meant to stream (one number in memory at a time) and the restore to
read one record at a time, so peak RSS should be nearly flat from 10k to 100k numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AREAS = ("202", "212", "312", "415", "617", "713", "305", "646", "808", "503")
SUBJECTS = ("Imposters", "Other", "Warranties & protection plans", "Dropped call or no message")
RUNS = 24
TIME = Path("/usr/bin/time")

# Fallback when /usr/bin/time is missing: a small process of its own starts the child,
# so the child's peak is not this process's (Linux keeps the high-water RSS across exec).
MEASURE = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], 'wb'), stderr=subprocess.STDOUT)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def e164(i: int) -> str:
    """A distinct, well-formed NANP number for each ``i`` below 10 * 800 * 9000."""
    area = AREAS[i % 10]
    exchange = 200 + (i // 10) % 800
    line = 1000 + i // 8000
    return f"+1{area}{exchange}{line:04d}"


def build(path: Path, n: int) -> float:
    """Create the database with N numbers in account ``A``; return seconds taken."""
    from cidrep.store import open_db

    start = time.perf_counter()
    open_db(path).close()  # the schema, by the real migrations
    rng = random.Random(n)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    t0, t1, t2 = "2026-05-01T06:00:00Z", "2026-10-02T06:00:00Z", "2026-11-22T06:00:00Z"
    with conn:
        conn.execute(
            "INSERT INTO accounts (name, email, created_at) VALUES ('A', 'ops@a.test', ?)", [t0]
        )
        account = conn.execute("SELECT id FROM accounts WHERE name = 'A'").fetchone()[0]
        conn.executemany(
            """INSERT INTO runs (id, started_at, finished_at, account, checks, status, exit_code)
               VALUES (?, ?, ?, 'A', ?, 'finished', 1)""",
            [(r, t0, t0, n) for r in range(1, RUNS + 1)],
        )
        conn.executemany(
            "INSERT INTO run_sources (run_id, source, status, checks) VALUES (?, ?, 'ok', ?)",
            [(r, s, n) for r in range(1, RUNS + 1) for s in ("ftc", "fcc")],
        )
        conn.executemany(
            """INSERT INTO numbers (id, account_id, e164, label, tags, created_at, ref)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    i + 1,
                    account,
                    e164(i),
                    f"line {i}",
                    json.dumps(["sales"] if i % 3 else ["support", "east"]),
                    t0,
                    f"{rng.getrandbits(64):016x}",
                )
                for i in range(n)
            ],
        )
        history, state, sightings, alerts, confirmed, flips, deliveries = ([] for _ in range(7))
        for i in range(n):
            nid, base, run = i + 1, 3 * i + 1, i % RUNS + 1
            subject = SUBJECTS[i % len(SUBJECTS)]
            flagged = json.dumps(
                {
                    "complaints": 2,
                    "complaints_in_window": 1,
                    "window_days": 30,
                    "first_reported": "2026-09-30",
                    "last_reported": "2026-11-20",
                    "robocall": bool(i % 2),
                    "subjects": {subject: 2},
                },
                sort_keys=True,
            )
            history += [
                (base, nid, "ftc", "clean", None, None, '{"complaints": 0}', f"c{i}", t0, t1, 40,
                 1, run),
                (base + 1, nid, "ftc", "flagged", subject, "telemarketing", flagged, f"f{i}", t1,
                 t2, 12, run, RUNS),
                (base + 2, nid, "fcc", "clean", None, None, '{"complaints": 0}', f"k{i}", t0, t2,
                 52, 1, RUNS),
            ]  # fmt: skip
            state += [
                (nid, "ftc", "flagged", t1, 12, base + 1, base + 1, f"f{i}", t2, t2, 52),
                (nid, "fcc", "clean", t0, 52, base + 2, base + 2, f"k{i}", t2, t2, 52),
            ]
            sightings.append(
                (nid, "ftc", f"{rng.getrandbits(64):016x}", "2026-11-20",
                 json.dumps({"subject": subject, "robocall": bool(i % 2),
                             "violation_date": "2026-11-19"}), run)
            )  # fmt: skip
            alerts.append((nid, "flagged", t1, "flagged", t1, json.dumps([t1]), t1))
            confirmed += [(nid, "ftc", "flagged", t1), (nid, "fcc", "clean", t0)]
            if i % 10 == 0:
                flips.append((len(flips) + 1, f"flip-{i}", t1, run, "flagged", nid, "ftc"))
                deliveries.append((len(flips), "ops", "delivered", 1, t1, t1, t1))
        conn.executemany(
            """INSERT INTO observations (id, number_id, source, verdict, label, category,
               evidence, fingerprint, first_seen, last_seen, checks, first_run_id, last_run_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            history,
        )
        conn.executemany(
            """INSERT INTO source_state (number_id, source, verdict, since, streak,
               verdict_obs_id, obs_id, fingerprint, last_checked, last_success, checks)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            state,
        )
        conn.executemany(
            """INSERT INTO sightings (number_id, source, key, occurred_at, detail, run_id)
               VALUES (?, ?, ?, ?, ?, ?)""",
            sightings,
        )
        conn.executemany(
            """INSERT INTO alert_numbers (number_id, state, since, notified, notified_at, flips,
               flagged_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            alerts,
        )
        conn.executemany(
            "INSERT INTO alert_sources (number_id, source, state, since) VALUES (?, ?, ?, ?)",
            confirmed,
        )
        conn.executemany(
            """INSERT INTO flips (id, key, at, run_id, kind, number_id, source, new_state)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'flagged')""",
            flips,
        )
        conn.executemany(
            """INSERT INTO deliveries (flip_id, channel, status, attempts, created_at, next_try,
               delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            deliveries,
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - start


def run_cli(args: list[str], env: dict[str, str], work: Path) -> tuple[int, float, float, str]:
    """Run ``python -m cidrep ARGS``; return (exit code, wall seconds, peak RSS MB, output)."""
    log = work / "child.log"
    cmd = [sys.executable, "-m", "cidrep", *args]
    start = time.perf_counter()
    if TIME.exists():
        with log.open("wb") as out:
            done = subprocess.run(
                [str(TIME), "-v", *cmd], env=env, stdout=out, stderr=subprocess.PIPE, text=True
            )
        seconds = time.perf_counter() - start
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        kib = int(found.group(1)) if found else 0
        output = log.read_text(errors="replace") + done.stderr.split("\tCommand being timed")[0]
        return done.returncode, seconds, kib / 1024, output
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, str(log), *cmd],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    code, kib = map(int, measured.stdout.split())
    return code, seconds, kib / 1024, log.read_text(errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="keep the tmp dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cidrep-export-"))
    config = work / "config.toml"
    config.write_text("[sources.fcc]\nenabled = false\n[sources.ftc]\nenabled = false\n")
    config.chmod(0o600)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CIDREP_")},
        "CIDREP_CONFIG": str(config),
        "HOME": str(work),
    }
    how = "/usr/bin/time -v" if TIME.exists() else "os.wait4 ru_maxrss"
    print(f"machine: {os.cpu_count()} cpus, Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}; {datetime.now(UTC):%Y-%m-%d}; peak RSS by {how}")  # fmt: skip
    rows: list[tuple[str, ...]] = []
    try:
        for n in args.sizes:
            db = work / f"a{n}.db"
            seconds = build(db, n)
            print(f"N={n:,}: built {db.stat().st_size / 1e6:.1f} MB database in {seconds:.1f} s")
            for fmt in ("json", "jsonl"):
                out = work / f"a{n}.{fmt}"
                code, wall, peak, text = run_cli(
                    ["--db", str(db), "export", "--account", "A", "-f", fmt, "-o", str(out)],
                    env,
                    work,
                )
                if code != 0 or f"{n:,} number" not in text:
                    sys.exit(f"export failed ({code}): {text[-2000:]}")
                size = f"{out.stat().st_size / 1e6:.1f} MB"
                rows.append((f"{n:,}", f"export {fmt}", f"{wall:.1f} s", f"{peak:.0f} MB", size))
                print("  ", " | ".join(rows[-1]))
                target = work / f"restored-{n}-{fmt}.db"
                code, wall, peak, text = run_cli(
                    ["--db", str(target), "restore", str(out)], env, work
                )
                if code != 0 or f"{n:,} number" not in text:
                    sys.exit(f"restore failed ({code}): {text[-2000:]}")
                size = f"{target.stat().st_size / 1e6:.1f} MB db"
                rows.append((f"{n:,}", f"restore {fmt}", f"{wall:.1f} s", f"{peak:.0f} MB", size))
                print("  ", " | ".join(rows[-1]))
                target.unlink()
                for companion in ("-wal", "-shm"):
                    Path(f"{target}{companion}").unlink(missing_ok=True)
            db.unlink()
        head = ("numbers", "step", "wall", "peak RSS", "size")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        print()
        print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in rows:
            print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
