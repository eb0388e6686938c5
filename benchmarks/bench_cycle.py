"""Benchmark: a check cycle over 10,000 monitored numbers, and CLI start-up time.

    python benchmarks/bench_cycle.py [--data PATH]

PATH defaults to ../shared/data/ftc-dnc-complaint-numbers-90d-2025-12-11.csv.

With the shared FTC snapshot (real numbers, real skew and junk) it builds one FTC-format
file holding all 337,810 complaint rows, monitors 10,000 numbers drawn from it (half
with complaints, half without), and runs the FTC feed twice (first pull, then a forced
re-assessment that should only extend run-length rows). It then runs the FCC lookup
for the same 10,000 numbers against a local HTTP server answering `[]`. Without the
data file it synthesises numbers, so the script always runs. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ftc-dnc-complaint-numbers-90d-2025-12-11.csv"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FLEET = 10_000


def complaint_numbers(data: Path) -> list[str]:
    if data.exists():
        with data.open() as handle:
            return [row[0] for row in csv.reader(handle)][1:]
    rng = random.Random(1)
    return [
        f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        for _ in range(300_000)
    ]


def write_ftc_file(folder: Path, numbers: list[str]) -> Path:
    from cidrep_plugins.ftc.csvfile import FTC_HEADER

    rng = random.Random(2)
    path = folder / f"DNC_Complaint_Numbers_{NOW.date().isoformat()}.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(FTC_HEADER)
        for number in numbers:
            day = NOW - timedelta(days=rng.randint(1, 28), seconds=rng.randint(0, 43199))
            out.writerow(
                [
                    number,
                    day.strftime("%Y-%m-%d %H:%M:%S"),
                    day.strftime("%Y-%m-%d %H:%M:%S"),
                    "Springfield",
                    "Illinois",
                    "217",
                    rng.choice(["Imposters", "Other", "Warranties & protection plans"]),
                    rng.choice("YN"),
                ]
            )
    return path


def fleet(numbers: list[str]) -> list[str]:
    from cidrep.phone import InvalidNumber, normalize

    rng = random.Random(3)
    distinct = sorted({n for n in numbers if len(n) == 10})
    rng.shuffle(distinct)
    chosen: list[str] = []
    for raw in distinct:
        try:
            chosen.append(normalize(raw, "US"))
        except InvalidNumber:
            continue
        if len(chosen) == FLEET // 2:
            break
    taken = {n[2:] for n in chosen}
    while len(chosen) < FLEET:  # valid numbers with no complaints
        raw = f"{rng.choice([202, 312, 415, 617, 713])}555{rng.randint(100, 199):04d}"
        raw = f"{raw[:6]}{rng.randint(0, 9999):04d}"
        if raw not in taken:
            try:
                chosen.append(normalize(raw, "US"))
                taken.add(raw)
            except InvalidNumber:
                pass
    return chosen


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    from localserver import LocalServer, Reply

    from cidrep.config import load_config
    from cidrep.plugins import get_checkers
    from cidrep.runner.engine import CheckOptions, run_cycle
    from cidrep.store import open_db
    from cidrep.store.numbers import NumberEntry, add_numbers

    work = Path(tempfile.mkdtemp(prefix="cidrep-bench-"))
    numbers = complaint_numbers(args.data)
    origin = "shared FTC data" if args.data.exists() else "synthetic"
    print(f"complaint rows: {len(numbers):,} ({origin})")
    (work / "ftc").mkdir()
    write_ftc_file(work / "ftc", numbers)
    monitored = fleet(numbers)
    db = open_db(work / "bench.db")
    timed(
        f"add {len(monitored):,} numbers",
        lambda: add_numbers(db, 1, [NumberEntry(n) for n in monitored], "T"),
    )

    def cycle(config: str, **options):  # type: ignore[no-untyped-def]
        (work / "c.toml").write_text(config)
        settings = load_config(work / "c.toml", get_checkers()).settings
        return run_cycle(db, settings, get_checkers(), CheckOptions(now=NOW, **options))

    ftc = f'[sources.fcc]\nenabled = false\n[sources.ftc]\npath = "{work / "ftc"}"\n'
    first = timed("ftc first run (parse 1 file, match, assess 10k)", lambda: cycle(ftc))
    s = first.sources[1]
    print(f"  stats: {s.stats}; verdicts: {s.verdicts}")

    def alerts(run_id: int):  # type: ignore[no-untyped-def]
        from cidrep.alerts.evaluate import Evaluation
        from cidrep.health import stale_before

        settings = load_config(work / "c.toml", get_checkers()).settings
        ftc_stale = {"ftc": stale_before(settings.source("ftc").interval, NOW)}
        return Evaluation(db, settings, ["ftc"], {}, NOW, run_id).run(ftc_stale)

    changes = timed("alert evaluation after the first run", lambda: alerts(first.run_id))
    kinds = [c.kind for c in changes]
    print(f"  flips: {len(kinds):,} ({kinds.count('flagged'):,} flagged alerts)")
    second = timed("ftc forced re-run (re-read, run-length extend)", lambda: cycle(ftc, force=True))
    print(f"  verdicts: {second.sources[1].verdicts}")
    again = timed("alert evaluation after it (nothing changed)", lambda: alerts(second.run_id))
    print(f"  flips: {len(again)}")
    rows = db.execute("SELECT count(*), sum(checks) FROM observations").fetchone()
    print(f"  observation rows: {rows[0]:,} for {rows[1]:,} checks")

    with LocalServer() as server:
        server.route("/resource/3xyp-aqkj.json", Reply(200, "[]"))
        fcc = (
            f'[sources.ftc]\nenabled = false\n[sources.fcc]\nbase_url = "{server.url}"\n'
            'rate_limit = "10000/s"\nconcurrency = 4\n'
        )
        result = timed(
            "fcc lookup of 10k numbers (local server, batches of 50)", lambda: cycle(fcc)
        )
        print(f"  requests: {len(server.requests)}; checks: {result.sources[0].checks}")
    commits = db.execute("SELECT count(*) FROM runs").fetchone()[0]
    print(f"runs recorded: {commits}; db size: {(work / 'bench.db').stat().st_size / 1e6:.1f} MB")

    times = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cidrep", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    print(f"cidrep --help start-up: median {statistics.median(times) * 1000:.0f} ms over 7 runs")
    imports = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cidrep.cli; "
            "print(sorted(m for m in ('httpx','sqlite_utils','pydantic','phonenumbers') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"heavy modules imported by `import cidrep.cli`: {imports.stdout.strip()}")


if __name__ == "__main__":
    main()
