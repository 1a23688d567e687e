"""Make an offline classroom bundle: a pip wheelhouse and the course's Docker images, in one
folder that can be copied to machines with no internet.

    python tools/classroom_bundle.py                 # -> _build/classroom-bundle/
    python tools/classroom_bundle.py --out /media/usb/mle-course --no-images

Run it once, on a machine with internet access and the course's images built (``python -m
labkit images`` builds them all). It writes:

    wheels/            every requirement as a wheel (``pip download -r requirements.txt``)
                       plus the course's own ``labkit`` package (``pip wheel . --no-deps``)
    images.tar         ``docker save`` of the course images (``mlecourse/*``) and the base
    INSTALL.md         the install steps for the learners' machines (printed below)
    manifest.json      what is inside, with sizes and image ids

On each learner's machine (no network needed):

    python3 -m venv .venv
    .venv/bin/pip install --no-index --find-links BUNDLE/wheels -r requirements.txt
    docker load -i BUNDLE/images.tar
    .venv/bin/python -m labkit doctor

The wheels must match the learners' platform and Python: by default pip downloads for the
machine that runs this script. For a room of different machines, pass ``--platform`` and
``--python-version`` (both go to ``pip download``, which then needs ``--only-binary=:all:``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "_build" / "classroom-bundle"
BASE_IMAGE = "labkit/debian-base:bookworm"   # labkit.docker.OFFLINE_BASE_IMAGE

INSTALL = """# Installing the course from this bundle (no internet needed)

1. Copy this folder and the course's repository to the machine.
2. In the repository, with Python 3.11 or newer:

       python3 -m venv .venv
       .venv/bin/pip install --no-index --find-links {wheels} -r requirements.txt

   (`-e .` in requirements.txt installs labkit from the repository itself.)
3. Load the images into the Docker engine:

       docker load -i {images}

4. Check: `.venv/bin/python -m labkit doctor`, then run lab 00.
"""


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def course_images() -> list[str]:
    """Tags of the course's images present on this engine (mlecourse/* and the base)."""
    out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                         check=True, capture_output=True, text=True).stdout.split()
    tags = sorted(t for t in out if t.startswith("mlecourse/") and not t.endswith(":<none>"))
    if BASE_IMAGE in out:
        tags.append(BASE_IMAGE)
    return tags


def make_wheelhouse(wheels: Path, requirements: Path, python: str,
                    pip_args: list[str]) -> None:
    wheels.mkdir(parents=True, exist_ok=True)
    lines = [ln for ln in requirements.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith(("#", "-e"))]
    # `-e .` builds labkit on the learner's machine: its build backend must be there too.
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines += build["build-system"]["requires"] + ["wheel"]
    pinned = wheels.parent / "requirements-pinned.txt"
    pinned.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run([python, "-m", "pip", "download", "-r", str(pinned), "-d", str(wheels), *pip_args])
    run([python, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(ROOT)])


def save_images(tags: list[str], target: Path) -> None:
    if not tags:
        raise SystemExit("no course images on this engine: build them with "
                         "`python -m labkit images`, or pass --no-images")
    run(["docker", "save", "-o", str(target), *tags])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    parser.add_argument("--python", default=sys.executable, help="the pip to download with")
    parser.add_argument("--platform", help="pip download --platform (e.g. manylinux2014_aarch64)")
    parser.add_argument("--python-version", help="pip download --python-version (e.g. 3.11)")
    parser.add_argument("--no-wheels", action="store_true")
    parser.add_argument("--no-images", action="store_true")
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    pip_args: list[str] = []
    if args.platform:
        pip_args += ["--platform", args.platform, "--only-binary=:all:"]
    if args.python_version:
        pip_args += ["--python-version", args.python_version, "--only-binary=:all:"]
    wheels, images = out / "wheels", out / "images.tar"
    manifest: dict[str, object] = {}
    if not args.no_wheels:
        make_wheelhouse(wheels, args.requirements, args.python, pip_args)
        manifest["wheels"] = sorted(p.name for p in wheels.glob("*.whl"))
    if not args.no_images:
        tags = course_images()
        save_images(tags, images)
        manifest["images"] = tags
        manifest["images_bytes"] = images.stat().st_size
    shutil.copy2(args.requirements, out / "requirements.txt")
    (out / "INSTALL.md").write_text(INSTALL.format(wheels=wheels, images=images),
                                    encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"bundle in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
