"""The book's practice questions as data, and the ``mock-exam`` directive built from them.

Every chapter writes its questions in one format (AUTHORING.md, "Practice questions"):
``:::{exercise} Question N · Task D.T`` with options ``- **A.** …``, and a ``{solution}``
whose first words give the key: ``**C.**``, ``**B, D.**``, ``**Order: B, D, C, A.**`` or
``**Match: 1-C, 2-B, 3-D, 4-A.**``. :func:`parse_book` reads them all; the convention test
(tests/test_questions.py) checks them, and the mock exam page embeds them so that it works in
the static site with no server and no network.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DOMAINS = {
    "1": ("Data preparation for ML", 28),
    "2": ("ML model development", 26),
    "3": ("Deployment and orchestration of ML workflows", 22),
    "4": ("ML solution monitoring, maintenance and security", 24),
}
"""MLA-C01 exam domains and their weights in per cent (AWS's exam guide)."""

TASKS = {f"{d}.{t}" for d in "1234" for t in "123"}

PAIR = re.compile(
    r"^(?P<fence>:{3,})\{exercise\} (?P<title>.*?)\n(?P<body>.*?)\n(?P=fence)[ \t]*\n+"
    r"(?P<sfence>:{3,})\{solution\} (?P<label>\S+)\n(?P<solution>.*?)\n(?P=sfence)[ \t]*$",
    re.S | re.M,
)
CASE = re.compile(
    r"^(?P<fence>:{3,})\{admonition\} Case study · (?P<title>.*?)\n(?P<body>.*?)\n(?P=fence)[ \t]*$",
    re.S | re.M,
)
TITLE = re.compile(r"^Question (?P<number>\d+) · Task (?P<task>\d\.\d)$")
OPTION = re.compile(r"^- \*\*(?P<letter>[A-F])\.\*\* ?(?P<text>.*)$")
ITEM = re.compile(r"^(?P<number>\d+)\. (?P<text>.*)$")
KEY = re.compile(
    r"^\*\*(?:(?P<order>Order: )(?P<order_key>[A-F](?:, [A-F])+)"
    r"|(?P<match>Match: )(?P<match_key>\d-[A-F](?:, \d-[A-F])+)"
    r"|(?P<letters>[A-F](?:, [A-F])*))\.\*\*\s*(?P<rest>.*)$",
    re.S,
)
CHOOSE = re.compile(r"\(Choose (TWO|THREE)\.\)")


@dataclass
class Question:
    chapter: str  # docname, e.g. chapters/02-sagemaker/04-vpc-isolation
    chapter_title: str
    label: str
    number: int
    task: str
    kind: str  # single, multiple, order, match
    stem: str
    options: dict[str, str]
    items: list[str]
    key: list[str]
    explanation: str
    case: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return self.task.split(".")[0]


def _blocks(lines: list[str], pattern: re.Pattern[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Split out list entries matching ``pattern`` (with indented continuation lines)."""
    found: list[tuple[str, str]] = []
    rest: list[str] = []
    current: list[str] | None = None
    for line in lines:
        m = pattern.match(line)
        if m:
            found.append((m.group(1), m.group(2)))
            current = [m.group(2)]
            continue
        if current is not None and line.startswith("  ") and line.strip():
            key, text = found[-1]
            found[-1] = (key, text + " " + line.strip())
            continue
        current = None
        rest.append(line)
    return found, rest


def parse_chapter(path: Path, docname: str) -> list[Question]:
    text = path.read_text(encoding="utf-8")
    title_match = re.search(r"^# (.+)$", text, re.M)
    chapter_title = title_match.group(1).strip() if title_match else docname
    questions = []
    for m in PAIR.finditer(text):
        problems: list[str] = []
        title = TITLE.match(m.group("title").strip())
        if not title:
            problems.append(f"title {m.group('title')!r} is not 'Question N · Task D.T'")
        body = [ln for ln in m.group("body").split("\n") if not re.match(r"^:\w+:", ln)]
        options_list, rest = _blocks(body, OPTION)
        items_list, rest = _blocks(rest, ITEM)
        stem = "\n".join(rest).strip()
        case = ""
        case_match = re.match(r"^\*\*Case study · (.+?)\.\*\*", stem)
        if case_match:
            case = case_match.group(1)
        solution = "\n".join(
            ln for ln in m.group("solution").split("\n") if not re.match(r"^:\w+:", ln)
        ).strip()
        key_match = KEY.match(solution)
        options = dict(options_list)
        kind, key, explanation = "single", [], solution
        if not key_match:
            problems.append("the solution does not start with its key, e.g. **C.**")
        else:
            explanation = key_match.group("rest").strip()
            if key_match.group("order"):
                kind, key = "order", key_match.group("order_key").split(", ")
            elif key_match.group("match"):
                kind = "match"
                pairs = [p.split("-") for p in key_match.group("match_key").split(", ")]
                key = [letter for _, letter in sorted(pairs, key=lambda p: int(p[0]))]
            else:
                key = key_match.group("letters").split(", ")
                kind = "multiple" if len(key) > 1 or CHOOSE.search(stem) else "single"
        label = m.group("label")
        for letter in key:
            if letter not in options:
                problems.append(f"key {letter} is not an option")
        questions.append(Question(
            chapter=docname, chapter_title=chapter_title, label=label,
            number=int(title.group("number")) if title else 0,
            task=title.group("task") if title else "",
            kind=kind, stem=stem, options=options, items=[t for _, t in items_list],
            key=key, explanation=explanation, case=case, problems=problems,
        ))
    return questions


def case_studies(path: Path) -> dict[str, str]:
    """``{title: scenario markdown}`` of a chapter's case studies."""
    text = path.read_text(encoding="utf-8")
    found = {}
    for m in CASE.finditer(text):
        body = "\n".join(ln for ln in m.group("body").split("\n") if not re.match(r"^:\w+:", ln))
        found[m.group("title").strip()] = body.strip()
    return found


def chapter_files(root: Path) -> list[tuple[Path, str]]:
    return [(p, p.relative_to(root).with_suffix("").as_posix())
            for p in sorted((root / "chapters").rglob("*.md"))]


def parse_book(root: Path) -> tuple[list[Question], dict[str, str]]:
    questions: list[Question] = []
    cases: dict[str, str] = {}
    for path, docname in chapter_files(root):
        questions += parse_chapter(path, docname)
        cases.update(case_studies(path))
    return questions, cases


# ---------------------------------------------------------------- the mock exam page
def _exam_data(root: Path, page_docname: str) -> dict[str, Any]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")

    def html(text: str) -> str:
        return md.render(text).strip()

    questions, cases = parse_book(root)
    here = posixpath.dirname(page_docname)
    data = []
    for q in questions:
        if q.problems or not q.task:
            continue
        record = asdict(q)
        record.pop("problems")
        record["stem"] = html(q.stem)
        record["options"] = {k: html(v) for k, v in q.options.items()}
        record["items"] = [html(t) for t in q.items]
        record["explanation"] = html(q.explanation)
        record["scenario"] = html(cases.get(q.case, "")) if q.case else ""
        record["domain"] = q.domain
        record["url"] = posixpath.relpath(q.chapter + ".html", here) + "#" + q.label
        data.append(record)
    return {"questions": data,
            "domains": {k: {"name": v[0], "weight": v[1]} for k, v in DOMAINS.items()}}


def _setup_sphinx(app: Any) -> None:
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class MockExam(SphinxDirective):
        """Embed every practice question and the exam script in the page."""

        def run(self) -> list[nodes.Node]:
            root = Path(self.env.srcdir)
            for path, _ in chapter_files(root):
                self.env.note_dependency(str(path))
            data = json.dumps(_exam_data(root, self.env.docname), ensure_ascii=False)
            script = (Path(__file__).with_name("mock_exam.js")).read_text(encoding="utf-8")
            self.env.note_dependency(str(Path(__file__).with_name("mock_exam.js")))
            raw = (
                '<div id="mock-exam" class="mock-exam">Loading the mock exam…</div>\n'
                '<script type="application/json" id="mock-exam-data">'
                + data.replace("</", "<\\/") + "</script>\n<script>" + script + "</script>"
            )
            return [nodes.raw("", raw, format="html")]

    app.add_directive("mock-exam", MockExam)


def setup(app: Any) -> dict[str, Any]:
    _setup_sphinx(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
