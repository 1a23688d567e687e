"""Command line: ``python -m labkit doctor`` and ``python -m labkit base-image``."""

from __future__ import annotations

import argparse
import sys

from labkit.banner import installed_versions, version_drift
from labkit.docker import OFFLINE_BASE_IMAGE, docker_status, make_offline_base_image
from labkit.errors import LabKitError
from labkit.notebooks import notebooks_under, strip_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check versions and Docker")
    sub.add_parser("base-image", help=f"make {OFFLINE_BASE_IMAGE} offline (needs root)")
    strip = sub.add_parser("strip", help="remove outputs from notebooks")
    strip.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
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
        print(make_offline_base_image())
        return 0
    except LabKitError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
