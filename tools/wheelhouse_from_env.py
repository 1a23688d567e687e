"""Pack an installed environment's distributions back into wheels, with no network.

    python tools/wheelhouse_from_env.py DIR             # labkit and everything it needs
    python tools/wheelhouse_from_env.py DIR jupyterlab  # other roots

For a classroom where even the instructor's machine has no internet: a working course
environment is the source. Each distribution named (and its dependencies, following the
extras asked for) is zipped from its installed files and its ``dist-info`` into a wheel with
the tags its ``WHEEL`` file records; ``labkit`` itself is built from the repository with
``pip wheel . --no-deps``. Install the result with
``pip install --no-index --find-links DIR -r requirements.txt``.

Only use it for machines of the same platform and Python as the source environment (the
binary wheels inside are that environment's). ``tools/classroom_bundle.py`` with internet
access is the general way.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata as md
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SKIP_FILES = ("INSTALLER", "RECORD", "REQUESTED", "direct_url.json")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[str]) -> dict[str, md.Distribution]:
    """Every installed distribution the roots need (extras followed as requested)."""
    seen: dict[str, md.Distribution] = {}

    def walk(spec: str) -> None:
        req = Requirement(spec)
        key = canonical(req.name)
        dist = md.distribution(req.name)
        first = key not in seen
        seen[key] = dist
        for raw in dist.requires or []:
            dep = Requirement(raw)
            extras = req.extras or {""}
            if dep.marker and not any(dep.marker.evaluate({"extra": e}) for e in extras):
                continue
            if first or dep.extras:
                if canonical(dep.name) not in seen or dep.extras:
                    walk(str(dep).split(";")[0])

    for root in roots:
        walk(root)
    return seen


def _hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def repack(dist: md.Distribution, out: Path) -> Path:
    """Write ``dist`` as a wheel into ``out`` (stored, not compressed: it is only copied)."""
    files = [f for f in dist.files or [] if ".." not in f.parts
             and "__pycache__" not in f.parts and not str(f).endswith(".pyc")]
    info = next(f for f in dist.files or [] if f.parts[0].endswith(".dist-info"))
    info_dir = info.parts[0]
    wheel_meta = Path(str(dist.locate_file(f"{info_dir}/WHEEL"))).read_text(encoding="utf-8")
    tags = re.findall(r"^Tag: (\S+)$", wheel_meta, re.M) or ["py3-none-any"]
    pys = ".".join(dict.fromkeys(t.split("-")[0] for t in tags))
    abis = ".".join(dict.fromkeys(t.split("-")[1] for t in tags))
    plats = ".".join(dict.fromkeys(t.split("-")[2] for t in tags))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    target = out / f"{name}-{dist.version}-{pys}-{abis}-{plats}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        for rel in files:
            if rel.parts[0] == info_dir and rel.name in SKIP_FILES:
                continue
            path = Path(str(dist.locate_file(rel)))
            if not path.is_file():
                continue
            data = path.read_bytes()
            zf.writestr(rel.as_posix(), data)
            writer.writerow([rel.as_posix(), _hash(data), len(data)])
        writer.writerow([f"{info_dir}/RECORD", "", ""])
        zf.writestr(f"{info_dir}/RECORD", record.getvalue())
    return target


def build_labkit(out: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                    "--no-build-isolation", "--quiet", "-w", str(out), str(ROOT)], check=True)


def make(out: Path, roots: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for key, dist in sorted(closure(roots).items()):
        if key == "labkit":
            build_labkit(out)
            continue
        made.append(repack(dist, out))
    return sorted(out.glob("*.whl"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__)
        return 2
    wheels = make(Path(args[0]), args[1:] or ["labkit"])
    print(f"{len(wheels)} wheels in {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
