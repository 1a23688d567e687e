"""Number a chapter's practice questions per chapter: `:::{exercise} Question N` + `:nonumber:`.

sphinx-exercise numbers exercises across the whole book, so a chapter's first question would
read "Exercise 37". Usage: python tools/number_questions.py CHAPTER.md... (idempotent).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def number(text: str) -> str:
    out: list[str] = []
    count = 0
    for line in text.split("\n"):
        m = re.match(r"^(:{3,})\{exercise\}(.*)$", line)
        if m:
            count += 1
            out.append(f"{m.group(1)}{{exercise}} Question {count}")
            out.append(":nonumber:")
            continue
        if line.strip() == ":nonumber:" and out and out[-1] == ":nonumber:":
            continue
        if line.strip() == ":nonumber:" and any(
            re.match(r"^:{3,}\{exercise\} Question \d+$", prev) for prev in out[-3:]
        ):
            continue
        out.append(line)
    return "\n".join(out)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(number(path.read_text(encoding="utf-8")), encoding="utf-8")
