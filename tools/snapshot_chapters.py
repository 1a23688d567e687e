"""Snapshot the course's chapters for lab 17's retrieval ("ask this course").

Writes ``data/course-chapters/``:

* ``chapters/<part>/<chapter>.md`` — each chapter's Markdown *without* its
  ``## Practice questions`` section (the questions are the evaluation set, so the corpus
  must not contain them);
* ``practice-questions.csv`` — ``qid,chapter,stem``: the stem of every practice question
  (the text before its options), labelled with the chapter it comes from;
* ``MANIFEST.sha256`` — the SHA-256 of every file above and of the hand-written
  ``unanswerable.csv`` (``sha256sum -c MANIFEST.sha256`` checks them); the README's data
  card gets the hashes of the question files and of the manifest.

A snapshot, not a live view: the lab's numbers change only when someone re-runs this
script and commits the result. Usage (from the repository root)::

    python tools/snapshot_chapters.py            # writes data/course-chapters/
    python tools/snapshot_chapters.py --check    # exit 1 if the snapshot is out of date
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "chapters"
TARGET = ROOT / "data" / "course-chapters"
SKIP = {"reference"}  # the status page is a list of dates, not course content

_PRACTICE = re.compile(r"^## Practice questions\s*$")
_EXERCISE = re.compile(r"^:{3,}\{exercise\}")
_OPTION = re.compile(r"^(- \*\*[A-E]\.\*\*|\d+\.\s)")


def strip_practice(text: str) -> str:
    """The chapter without its ``## Practice questions`` section (up to the next ``## ``)."""
    out, skipping = [], False
    for line in text.splitlines():
        if _PRACTICE.match(line):
            skipping = True
            continue
        if skipping and line.startswith("## "):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out).rstrip() + "\n"


def stems(text: str) -> list[tuple[str, str]]:
    """``(label, stem)`` of every exercise: its text lines before the first option."""
    found: list[tuple[str, str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not _EXERCISE.match(line):
            continue
        label, body = "", []
        for nxt in lines[i + 1 :]:
            if re.match(r"^:{3,}\s*$", nxt) or _OPTION.match(nxt):
                break
            if nxt.startswith(":label:"):
                label = nxt.split(":", 2)[2].strip()
            elif not nxt.startswith(":"):
                body.append(nxt.strip())
        stem = " ".join(" ".join(body).split())
        if label and stem:
            found.append((label, stem))
    return found


def build() -> dict[str, bytes]:
    """Every file of the snapshot (path relative to TARGET → bytes), manifest excluded."""
    files: dict[str, bytes] = {}
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["qid", "chapter", "stem"])
    for path in sorted(SOURCE.glob("*/*.md")):
        if path.parent.name in SKIP:
            continue
        text = path.read_text(encoding="utf-8")
        rel = f"chapters/{path.parent.name}/{path.name}"
        files[rel] = strip_practice(text).encode()
        for label, stem in stems(text):
            writer.writerow([label, path.stem, stem])
    files["practice-questions.csv"] = table.getvalue().encode()
    return files


def manifest(files: dict[str, bytes]) -> str:
    """``sha256sum``-style lines for the snapshot and the hand-written question file."""
    extra = TARGET / "unanswerable.csv"
    entries = dict(files)
    if extra.exists():
        entries["unanswerable.csv"] = extra.read_bytes()
    return "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in sorted(entries.items())
    )


def write_hashes_into_readme(files: dict[str, bytes]) -> None:
    """Put the question files' and the manifest's hashes between the README's markers."""
    readme = TARGET / "README.md"
    if not readme.exists():
        return
    names = ["practice-questions.csv", "unanswerable.csv", "MANIFEST.sha256"]
    lines = [f"- `{name}` {hashlib.sha256((TARGET / name).read_bytes()).hexdigest()}"
             for name in names]
    text = readme.read_text(encoding="utf-8")
    start, end = text.index("<!-- hashes -->"), text.index("<!-- /hashes -->")
    text = text[: start + len("<!-- hashes -->")] + "\n" + "\n".join(lines) + "\n" + text[end:]
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        current = (TARGET / "MANIFEST.sha256").read_text() if TARGET.exists() else ""
        if current != manifest(files):
            print("data/course-chapters is out of date: run tools/snapshot_chapters.py")
            return 1
        print("data/course-chapters matches chapters/")
        return 0
    for old in (TARGET / "chapters").glob("*/*.md"):
        old.unlink()
    for name, data in files.items():
        (TARGET / name).parent.mkdir(parents=True, exist_ok=True)
        (TARGET / name).write_bytes(data)
    (TARGET / "MANIFEST.sha256").write_text(manifest(files))
    write_hashes_into_readme(files)
    n_questions = files["practice-questions.csv"].count(b"\n") - 1
    print(f"{len(files) - 1} chapters and {n_questions} practice-question stems written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
