"""Command line: ``python -m labkit doctor``, ``base-image``, ``images``, ``strip`` and ``sweep``.

``python -m labkit images`` builds every course image in ``containers/`` ahead of the labs
(a classroom machine before a session; CI while other work runs), each in one line:
tag and seconds. The labs then find them in Docker's cache.

``python -m labkit sweep --dry-run`` lists every resource the course left in the account
and region of ``COURSE_BACKEND``/``COURSE_REGION``, with its lab, age and hourly cost;
without ``--dry-run`` it asks, then deletes them (``--yes`` skips the question).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from labkit.banner import installed_versions, version_drift
from labkit.docker import OFFLINE_BASE_IMAGE, docker_status, make_offline_base_image
from labkit.errors import LabKitError
from labkit.notebooks import notebooks_under, strip_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check versions and Docker")
    sub.add_parser("base-image", help=f"make {OFFLINE_BASE_IMAGE} offline (needs root)")
    sub.add_parser("images", help="build every course image (containers/*) ahead of the labs")
    strip = sub.add_parser("strip", help="remove outputs from notebooks")
    strip.add_argument("paths", nargs="+")
    sweep = sub.add_parser("sweep", help="list (--dry-run) or delete what the course left")
    sweep.add_argument("--dry-run", action="store_true", help="list only, delete nothing")
    sweep.add_argument("--yes", action="store_true", help="delete without asking")
    sweep.add_argument("--lab", default=None, help="only this lab's resources, e.g. 06-…")
    sweep.add_argument("--every-learner", action="store_true",
                       help="on aws, every learner's course resources (an instructor's "
                            "sweep of a shared account), not only yours")
    args = parser.parse_args(argv)
    try:
        if args.command == "sweep":
            return run_sweep(dry_run=args.dry_run, yes=args.yes, only_lab=args.lab,
                             every_learner=args.every_learner)
        if args.command == "doctor":
            for name, value in installed_versions().items():
                print(f"{name:10} {value}")
            for name, (tested, have) in version_drift().items():  # notes and failures
                print(f"note: tested with {name} {tested}, you have {have}")
            status = docker_status()
            print(f"docker     {status.engine_version or 'missing'}")
            print(f"compose    {status.compose_version or 'missing'}")
            for problem in status.problems:
                print(f"problem: {problem}")
            return 0 if status.ok else 1
        if args.command == "strip":
            for path in args.paths:
                for notebook in notebooks_under(path):
                    if strip_outputs(notebook):
                        print(f"stripped {notebook}")
            return 0
        if args.command == "images":
            return build_course_images()
        print(make_offline_base_image())
        return 0
    except LabKitError as exc:
        print(exc, file=sys.stderr)
        return 2


def build_course_images() -> int:
    """Build every image under ``containers/``: the one with pinned wheels (``wheels.txt``)
    stages them first. Stops at the first failure, with Docker's message."""
    from labkit.docker import build_image
    from labkit.images import build_with_wheels
    from labkit.paths import CONTAINERS_DIR

    for folder in sorted(p for p in CONTAINERS_DIR.iterdir() if (p / "Dockerfile").is_file()):
        build = build_with_wheels if (folder / "wheels.txt").is_file() else build_image
        built = build(folder.name)
        print(f"{built.tag}  {built.seconds:.0f} s", flush=True)
    return 0


def run_sweep(*, dry_run: bool, yes: bool, only_lab: str | None,
              answer: Callable[[str], str] = input, every_learner: bool = False) -> int:
    """List, then (after a yes) delete the course's resources; 1 if anything failed.

    On ``aws`` only the caller's learner token's resources, unless ``every_learner``."""
    from labkit.session import start_lab
    from labkit.sweep import delete_course_resources, find_everything, format_table, table

    lab = start_lab("99-clean-up", quiet=True)
    try:
        whose = "every learner" if every_learner else f"learner {lab.learner}"
        print(f"backend {lab.backend.value}, account {lab.account_id}, region {lab.region}, "
              f"{whose}")
        found, problems = find_everything(lab, only_lab, every_learner=every_learner)
        print(format_table(table(delete_course_resources(lab, found))))
        for problem in problems:
            print(f"problem: {problem}")
        if dry_run or not found:
            return 1 if problems else 0
        if not yes and answer(f"Delete these {len(found)} resources? [y/N] ").strip().lower(
        ) not in ("y", "yes"):
            print("nothing deleted")
            return 0
        outcomes = delete_course_resources(lab, found, dry_run=False)
        print(format_table(table(outcomes)))
        failed = [o for _, o in outcomes if o.startswith("failed")]
        return 1 if failed or problems else 0
    finally:
        lab._snapshot = None  # the sweep is not a lab: what it finds is not its leak
        lab.cleanup(verbose=False)


if __name__ == "__main__":
    sys.exit(main())
