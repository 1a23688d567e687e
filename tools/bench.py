"""Benchmark: how long `make test` and `make site` take, and each lab's execution time.

    python tools/bench.py            # time make test, then make site twice (cold-ish, no change)
    python tools/bench.py --table    # only the per-lab table from the last test run
    python tools/bench.py --ci       # CI's test stages one by one, and the time they need at least
                                     # (OTHER=path/to/venv reuses a Python 3.12 venv)

`make test` runs the labs in parallel (pytest-xdist), so its wall-clock time is less than the
sum of the labs' times below; the CPU time it prints is the work done in all processes
(Docker containers excluded: they are the engine's children, not this script's).

Per lab it prints the first and second run in one kernel (from the metadata the test suite
writes into _build/executed/) and the share of the first run spent in its first code cell
(imports and start_lab). A benchmark prints numbers; it asserts nothing.

``--ci`` times the three test stages of ``.ci/run`` (make test, the offline rehearsal, the
labs on Python 3.12) with the CPU time the whole machine spent meanwhile (/proc/stat, so
Docker containers count; run it on an otherwise quiet machine). Every stage keeps the cores
busy, so their CPU time divided by the number of cores is the least wall-clock time the
stages can take together, however they are arranged, before any install.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "_build" / "executed"


def timed(command: list[str]) -> tuple[float, float, int]:
    """Wall-clock seconds, CPU seconds (user + system, of every process it waited for) and
    exit code. On a shared machine the wall clock grows with the load; the CPU time does not
    (much), so the two together say whether a change made the work smaller or only faster."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since it booted (all cores, /proc/stat;
    not counting steal, the time a virtual machine's host gave to others)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def ci_stages() -> list[str]:
    """Run CI's test stages one after the other; their times and the floor they imply."""
    stages = [("make test", ["make", "test"]), ("make rehearsal", ["make", "rehearsal"])]
    if shutil.which("python3.12"):
        stages.append(("make test-python (3.12)", ["make", "test-python", "PY=python3.12"]))
    cores = os.cpu_count() or 1
    rows = ["| stage | wall | machine CPU | exit |", "|:--|--:|--:|--:|"]
    total_wall = total_busy = 0.0
    for label, command in stages:
        before = machine_busy_seconds()
        seconds, _, code = timed(command)
        busy = machine_busy_seconds() - before
        total_wall, total_busy = total_wall + seconds, total_busy + busy
        rows.append(f"| {label} | {seconds / 60:.1f} min | {busy / 60:.1f} min | {code} |")
    rows.append(f"| **all, one after the other** | {total_wall / 60:.1f} min "
                f"| {total_busy / 60:.1f} min | |")
    floor = total_busy / cores
    return rows + ["", f"On {cores} cores these stages need at least {floor / 60:.1f} min "
                   f"({floor:.0f} s) of wall-clock time together, before any install."]


def lab_table() -> list[str]:
    rows = ["| lab | first run (s) | second run (s) | start-up, first cell (s) | share |",
            "|:--|--:|--:|--:|--:|"]
    total = 0.0
    for path in sorted(EXECUTED.rglob("*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("labkit")
        if not meta:
            continue
        first, second = meta["run_seconds"]
        start = meta["startup_seconds"]
        total += first + second
        rows.append(f"| {path.stem} | {first:.1f} | {second:.1f} | {start:.1f} "
                    f"| {100 * start / first:.0f} % |")
    rows.append(f"| **all labs, both runs** | | | | {total:.0f} s |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="only print the per-lab table")
    parser.add_argument("--ci", action="store_true",
                        help="time CI's test stages and the least time they need together")
    args = parser.parse_args()
    if args.ci:
        print("\n".join(ci_stages()))
        return 0
    lines = []
    if not args.table:
        for label, command in [("make test", ["make", "test"]),
                               ("make site (first)", ["make", "site"]),
                               ("make site (nothing changed)", ["make", "site"])]:
            seconds, cpu, code = timed(command)
            lines.append(f"{label:30} {seconds / 60:5.1f} min ({seconds:.0f} s), "
                         f"CPU {cpu / 60:.1f} min, exit {code}")
    print("\n".join(lines + [""] + lab_table()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
