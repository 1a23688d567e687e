"""Wrap lab code lines longer than the page allows (comments and string literals only).

Usage: python tools/wrap_long_lines.py LIMIT NOTEBOOK...  — prints the lines it cannot wrap.
Code itself is left to `ruff format --line-length LIMIT`; this handles what ruff leaves:
comment lines, trailing comments, and long single f-string/string arguments.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap


def split_string_line(line: str, limit: int) -> list[str] | None:
    m = re.match(r'^(\s*)(f?)"(.*)"(,?)$', line)
    if not m or '"' in m.group(3):
        return None
    indent, prefix, body, comma = m.groups()
    room = limit - len(indent) - len(prefix) - 2
    cut = body.rfind(" ", 0, room)
    if cut <= 0:
        return None
    # Do not split inside a {...} replacement field.
    if prefix and body[:cut].count("{") != body[:cut].count("}"):
        return None
    first, rest = body[: cut + 1], body[cut + 1 :]
    second = f'{indent}{prefix if "{" in rest else ""}"{rest}"{comma}'
    first_line = f'{indent}{prefix if "{" in first else ""}"{first}"'
    out = [first_line]
    if len(second) > limit:
        more = split_string_line(second, limit)
        if more is None:
            return None
        out += more
    else:
        out.append(second)
    return out


def wrap(line: str, limit: int) -> list[str] | None:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("#") and not stripped.startswith("#!"):
        text = stripped.lstrip("#").strip()
        return textwrap.wrap(text, limit, initial_indent=indent + "# ",
                             subsequent_indent=indent + "# ")
    m = re.match(r"^(.*\S)\s{2,}# (.*)$", line)
    if m and '"' not in m.group(2) and len(m.group(1)) <= limit:
        comment = textwrap.wrap(m.group(2), limit, initial_indent=indent + "# ",
                                subsequent_indent=indent + "# ")
        return comment + [m.group(1)]
    return split_string_line(line, limit)


def main() -> int:
    limit = int(sys.argv[1])
    for path in sys.argv[2:]:
        nb = json.load(open(path, encoding="utf-8"))
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            lines = "".join(cell["source"]).split("\n")
            new: list[str] = []
            for line in lines:
                if len(line) <= limit:
                    new.append(line)
                    continue
                wrapped = wrap(line, limit)
                if wrapped is None or any(len(w) > limit for w in wrapped):
                    print(f"{path} cell {index}: {line}")
                    new.append(line)
                else:
                    new.extend(wrapped)
            text = "\n".join(new)
            cell["source"] = text.splitlines(keepends=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(nb, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
