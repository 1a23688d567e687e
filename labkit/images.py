"""Course images that need Python wheels Debian does not package: stage them, then build.

Most course images install everything from Debian packages, so they build on the offline
Debian base. The Clarify re-implementation also needs ``smclarify`` and ``shap``, which Debian
lacks. Its folder lists them, pinned, in ``wheels.txt``; :func:`stage_wheels` downloads those
exact wheels (for Debian bookworm's Python 3.11 on x86_64) into ``wheels/`` inside the build
context, through this machine's configured package index, once; the Dockerfile installs
them with ``pip install --no-index``. ``wheels/`` is git-ignored: the pins are the source.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from labkit.docker import BuiltImage, build_image
from labkit.errors import LabKitError
from labkit.paths import CONTAINERS_DIR

WHEEL_PYTHON = "3.11"
"""Debian bookworm's python3."""

WHEEL_PLATFORM = "manylinux2014_x86_64"


def pinned_wheels(context: Path) -> list[tuple[str, str]]:
    """``[(name, version), …]`` from ``<context>/wheels.txt`` (``name==version`` lines)."""
    pins = []
    for line in (context / "wheels.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)", line)
        if match is None:
            raise LabKitError(
                f"{context / 'wheels.txt'}: {line!r} is not 'name==version'.",
                "pin every wheel to one exact version.",
            )
        pins.append((match.group(1), match.group(2)))
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def missing_wheels(context: Path) -> list[str]:
    """The pins of ``wheels.txt`` with no matching ``.whl`` file in ``<context>/wheels``."""
    folder = context / "wheels"
    have = {
        tuple(_normal(part) for part in p.name.split("-")[:2])
        for p in folder.glob("*.whl")
    } if folder.is_dir() else set()
    return [f"{n}=={v}" for n, v in pinned_wheels(context) if (_normal(n), _normal(v)) not in have]


def stage_wheels(name: str, context: Path | None = None, timeout: float = 600) -> list[str]:
    """Download the pinned wheels of ``containers/<name>`` that are not staged yet.

    Returns what was downloaded (empty when all were there). Raises :class:`LabKitError`
    with pip's message when the index cannot be reached.
    """
    ctx = context or CONTAINERS_DIR / name
    missing = missing_wheels(ctx)
    if not missing:
        return []
    (ctx / "wheels").mkdir(exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--python-version", WHEEL_PYTHON,
        "--platform", WHEEL_PLATFORM, "-d", str(ctx / "wheels"), *missing,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or missing_wheels(ctx):
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
        raise LabKitError(
            f"Could not stage the wheels {missing} for the image {name}:\n{tail}",
            "the image needs them once from a package index (pip's configured one); "
            f"or copy the .whl files into {ctx / 'wheels'} by hand.",
        )
    return missing


def build_with_wheels(name: str, **kwargs: object) -> BuiltImage:
    """Stage ``containers/<name>``'s pinned wheels, then :func:`labkit.docker.build_image`."""
    stage_wheels(name)
    return build_image(name, **kwargs)  # type: ignore[arg-type]
