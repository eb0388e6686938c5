"""Benchmark: peak memory and time of `cidrep check` on a ~220 MB FTC file.

    python benchmarks/bench_ftc_memory.py [--data PATH] [--megabytes 220] [--keep]

PATH defaults to ../shared/data/ftc-dnc-complaint-numbers-90d-2025-12-11.csv. Its
337,810 complaint numbers (real skew and junk) are repeated with realistic other
columns (dates in the last 28 days, US cities, the FTC's subjects, some quoted with
commas) until the file is about ``--megabytes`` MB, the size of a 90-day single-file
mirror. Without the data file, numbers are synthesised, so the script always runs.

10,000 numbers are monitored: 5,000 drawn from the file, 5,000 with no complaint.
Then the real CLI runs as a child process (``python -m cidrep``, config and database
in a tmp dir, the fcc source disabled, ``[sources.ftc] path`` = the file), and its
peak RSS is read from ``os.wait4`` for that child alone:

1. ``cidrep check``: first pull (parse, match, store), assess 10,000 numbers;
2. ``cidrep check --force``: the same file again (a single file is re-read every
   pull; sighting keys store nothing twice);

plus, in this process, the parser alone (``FileParser`` over 1 MB blocks) under
``tracemalloc``. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ftc-dnc-complaint-numbers-90d-2025-12-11.csv"
from cidrep_plugins.ftc.sample import CONSUMERS, SUBJECTS  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cycle import fleet  # noqa: E402  (5,000 numbers with complaints, 5,000 without)


def complaint_numbers(data: Path) -> list[str]:
    if data.exists():
        with data.open(newline="") as handle:
            return [row[0] for row in csv.reader(handle)][1:]
    rng = random.Random(1)
    return [
        f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        for _ in range(337_810)
    ]


def write_ftc_file(path: Path, numbers: list[str], megabytes: int, today: datetime) -> int:
    """Repeat ``numbers`` as FTC rows until the file holds ``megabytes`` MB; return rows."""
    from cidrep_plugins.ftc.csvfile import FTC_HEADER

    rng = random.Random(2)
    moments = [
        (today - timedelta(days=rng.randint(1, 28), seconds=rng.randint(0, 86399))).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        for _ in range(5_000)
    ]
    tails = []
    for _ in range(2_000):
        city, state, area = rng.choice(CONSUMERS)
        subject = rng.choice(SUBJECTS)
        subject = f'"{subject}"' if "," in subject else subject
        tails.append(f"{city},{state},{area},{subject},{rng.choice('YN')}\n")
    target = megabytes * 1_000_000
    written = rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        out.write(",".join(FTC_HEADER) + "\n")
        while written < target:
            for start in range(0, len(numbers), 10_000):
                batch = []
                for number in numbers[start : start + 10_000]:
                    created = rng.choice(moments)
                    batch.append(f"{number},{created},{created},{rng.choice(tails)}")
                text = "".join(batch)
                out.write(text)
                written += len(text)
                rows += len(batch)
                if written >= target:
                    break
    return rows


# Runs the command and prints its exit code and peak RSS (KiB). A small process of its
# own starts the child: Linux keeps the high-water RSS across exec, and a child forked
# (or vforked) from this process would count this process's own memory as its peak.
MEASURE = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], 'wb'), stderr=subprocess.STDOUT)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def run_child(args: list[str], env: dict[str, str], work: Path) -> tuple[int, float, float, str]:
    """Run ``python -m cidrep ARGS``; return (exit code, seconds, peak RSS MB, output)."""
    log = work / "child.log"
    start = time.perf_counter()
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, str(log), sys.executable, "-m", "cidrep", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    code, kib = map(int, measured.stdout.split())
    return code, seconds, kib / 1024, log.read_text(errors="replace")


def parser_alone(path: Path, targets: list[str]) -> tuple[float, float, int]:
    """The parser in this process: (seconds, tracemalloc peak MB, matched sightings).

    Two passes: one timed, one under ``tracemalloc`` (which slows allocation down).
    """
    from cidrep_plugins.ftc.csvfile import FileParser, target_index
    from cidrep_plugins.ftc.stream import BLOCK_BYTES

    index = target_index(targets)

    def parse() -> int:
        parser = FileParser(path.name, index)
        matched = 0
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                parser.feed(block)
                matched += len(parser.take()[0])
        parser.finish()
        return matched + len(parser.take()[0])

    start = time.perf_counter()
    matched = parse()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    parse()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak, matched


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--megabytes", type=int, default=220)
    parser.add_argument("--keep", action="store_true", help="keep the tmp dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cidrep-ftc-mem-"))
    try:
        today = datetime.now(UTC)
        numbers = complaint_numbers(args.data)
        origin = "shared FTC data" if args.data.exists() else "synthetic"
        ftc = work / f"DNC_Complaint_Numbers_{today.date().isoformat()}.csv"
        start = time.perf_counter()
        rows = write_ftc_file(ftc, numbers, args.megabytes, today)
        size = ftc.stat().st_size / 1e6
        print(f"file: {size:.0f} MB, {rows:,} rows ({len(numbers):,} {origin} numbers repeated)")
        print(f"  written in {time.perf_counter() - start:.1f} s")
        monitored = fleet(numbers)
        (work / "numbers.csv").write_text("number\n" + "\n".join(monitored) + "\n")
        config = work / "config.toml"
        config.write_text(f'[sources.fcc]\nenabled = false\n[sources.ftc]\npath = "{ftc}"\n')
        config.chmod(0o600)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CIDREP_")},
            "CIDREP_CONFIG": str(config),
            "CIDREP_DB": str(work / "cidrep.db"),
            "HOME": str(work),
        }
        code, _, _, out = run_child(["numbers", "import", str(work / "numbers.csv")], env, work)
        if code != 0:
            sys.exit(f"numbers import failed ({code}): {out}")

        table = []
        for label, cli in (
            ("cidrep check (first pull, assess 10k)", ["check", "--json"]),
            ("cidrep check --force (re-read, dedupe)", ["check", "--force", "--json"]),
        ):
            code, seconds, peak, out = run_child(cli, env, work)
            table.append((label, f"{seconds:.1f} s", f"{peak:.0f} MB", f"exit {code}"))
            if code not in (0, 1):
                print(out[-2000:])
        seconds, peak, matched = parser_alone(ftc, monitored)
        table.append(
            ("parser alone, in process", f"{seconds:.1f} s", f"{peak:.1f} MB", f"{matched:,} hits")
        )
        sightings = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                "print(c.execute('select count(*) from sightings').fetchone()[0])",
                str(work / "cidrep.db"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

        widths = [max(len(row[i]) for row in table) for i in range(4)]
        head = ("step", "wall", "peak", "result")
        widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
        line = " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
        print(f"\n| {line} |")
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in table:
            print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        print(
            f"\nsightings stored: {sightings} (peak = max RSS of the child; tracemalloc for the"
            " parser alone)"
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
