"""A real check cycle on local sample data: no network, no API key.

Generates today's FTC-format complaint file into examples/demo/ftc/, writes a
config that reads it as an offline mirror (the FCC source, which needs the
network, is disabled), imports examples/numbers.csv, runs `cidrep check`, then
`cidrep status` and a `cidrep report`. Exits non-zero unless at least one number
came out flagged and one clean, so it doubles as a smoke test.

    python examples/demo.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cidrep_plugins.ftc.sample import write_sample

HERE = Path(__file__).resolve().parent
WORK = HERE / "demo"

# Two of the four sample numbers drew complaints in the last few days; the other
# two must come out clean, so the generated filler complaints never name them.
COMPLAINTS = {"+12025550143": 3, "+13125550110": 1}
ROBOCALLS = {"+12025550143"}
CLEAN = {"+12025550178", "+13125550199"}


def cidrep(*args: str, config: Path, show: bool = True) -> subprocess.CompletedProcess[str]:
    if show:
        print(f"\n$ cidrep {' '.join(args)}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIDREP_")}
    env["CIDREP_CONFIG"] = str(config)
    result = subprocess.run(
        [sys.executable, "-m", "cidrep", *args], env=env, capture_output=True, text=True
    )
    if show:
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
        print(f"[exit code {result.returncode}]")
    return result


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "ftc").mkdir(parents=True)
    today = datetime.now(UTC).date()
    sample = write_sample(
        WORK / "ftc", today, COMPLAINTS, robocall=ROBOCALLS, junk_rows=6, clean=CLEAN
    )
    print(f"generated {sample.relative_to(HERE.parent)}")
    config = WORK / "config.toml"
    config.write_text(
        f'db = "{(WORK / "cidrep.db").as_posix()}"\n\n'
        "[sources.ftc]\n"
        f'path = "{(WORK / "ftc").as_posix()}"  # offline mirror instead of www.ftc.gov\n\n'
        "[sources.fcc]\n"
        "enabled = false  # needs the network\n"
    )
    config.chmod(0o600)

    cidrep("numbers", "import", str(HERE / "numbers.csv"), config=config)
    check = cidrep("check", config=config)
    cidrep("status", config=config)
    cidrep("report", "202-555-0143", config=config)

    status = json.loads(cidrep("status", "--json", config=config, show=False).stdout)
    verdicts = {n["number"]: n["verdict"] for n in status}
    expected = {**{n: "flagged" for n in COMPLAINTS}, **{n: "clean" for n in CLEAN}}
    ok = check.returncode == 1 and verdicts == expected
    if ok:
        print("\ndemo OK: 2 numbers flagged by the FTC feed, 2 clean", flush=True)
    else:
        print(f"\ndemo FAILED: expected {expected}, got {verdicts}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
