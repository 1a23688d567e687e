"""The instructor's edition: session plans, agendas, answer key, misconceptions and slides,
all generated at build time from the chapters and the executed labs, so they never drift.

Directives (used by the pages under ``instructor/``):

``{instructor-plan} chapters/<part>/<chapter>``
    A chapter's session plan: minutes (from the lab's measured run time), objectives (the
    lab header's), key points (the chapter's decision table), the misconceptions to raise,
    which lab cells to run live or show pre-run, checkpoints with the numbers learners should
    see (the executed lab's outputs) and a link to the chapter's slides.
``{instructor-agenda} full | workshop | sprint``
    The three agendas, with minutes summed from the session plans. ``workshop`` takes its
    days as content lines: ``Day 1: 01-iam-cross-account 02-s3-event-notifications``.
``{instructor-answer-key}``
    For every practice question: the key, what each distractor gets wrong (the sentences of
    the chapter's own explanation that name it) and the AWS page that settles it.
``{instructor-misconceptions}``
    Every ``Common misconception`` callout of the chapters, in book order.
``{instructor-prompts}``
    Every session plan's discussion prompts, by chapter.

Where a lab's numbers come from, in order: the lab source itself when the book is built from
executed copies (the book test puts them in place), ``_build/executed/<lab>.ipynb`` written by
``make test`` (outputs and ``labkit.run_seconds``), then myst-nb's own execution of the lab in
this build (``_build/jupyter_execute``; run time from its execution data). A lab with none of
these gets :data:`DEFAULT_RUN_SECONDS`, and the plan says so.

Slides: at the end of an HTML build every chapter gets ``instructor/slides/<chapter>.html``, a
self-contained deck (inline CSS, script and figures; no network) made from the chapter's
decision table, its misconceptions and its lab's figures.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from doctables import link, table

# --------------------------------------------------------------------------------------------
# The rules that turn measurements into minutes (the overview page states them).
DEFAULT_RUN_SECONDS = 120.0   # a lab not executed in this build
LEARNER_SLOWDOWN = 2.0        # a learner's laptop and a re-run or two, against the CI machine
READ_MINUTES_PER_CELL = 0.5   # reading a cell's request and prose before running it
CHECKPOINT_MINUTES = 5        # comparing numbers with the checkpoints, per lab
WORDS_PER_TEACHING_MINUTE = 250   # the chapter's teaching sections, taught as highlights
QUESTION_MINUTES = 1.5        # an exam-style question, answered and discussed
DOMAIN_WEIGHTS = {1: 28, 2: 26, 3: 22, 4: 24}
DOMAIN_NAMES = {
    1: "Data preparation for ML",
    2: "ML model development",
    3: "Deployment and orchestration of ML workflows",
    4: "ML solution monitoring, maintenance and security",
}
TEACHING_SECTIONS = ("The idea", "How it works", "Choosing", "Decid", "When to")
DAY_MINUTES = 360  # six teaching hours a day


def round5(minutes: float) -> int:
    """Minutes rounded up to the next multiple of 5."""
    return int(5 * math.ceil(minutes / 5 - 1e-9))


# --------------------------------------------------------------------------------------------
# Chapters
QUESTION = re.compile(
    r"^:::\{exercise\} (?P<title>Question (?P<num>\d+)(?: · Task (?P<task>\d\.\d))?[^\n]*)\n"
    r"(?P<body>.*?)^:::(?!\{)", re.S | re.M)
# A block ends at the first line that starts with ":::" (even one with text after it, which
# MyST would not close: the chapter's own build warns about that, this page should not).
SOLUTION = re.compile(r"^:::\{solution\} (?P<label>\S+)\n(?P<body>.*?)^:::(?!\{)",
                      re.S | re.M)
MISCONCEPTION = re.compile(
    r"^:::\{admonition\} (?P<title>Common misconception[^\n]*)\n(?P<body>.*?)^:::(?!\{)",
    re.S | re.M)
OPTION = re.compile(r"^- \*\*(?P<letter>[A-E])\.\*\* (?P<text>.*)$", re.M)
KEY = re.compile(r"^\*\*(?P<key>(?:Order|Match): [^*]+|[A-E](?:, [A-E])*)\.\*\*\s*", re.M)
BOLD_LETTER = re.compile(r"\*\*([A-E])\*\*")
AWS_LINK = re.compile(r"\[([^\]]+)\]\((https://(?:docs\.)?aws\.amazon\.com[^)\s]*)\)")
DOC_ROLE = re.compile(r"\{doc\}`(?:([^`<]*?)\s*<)?([^`>]+)>?`")
FACTS_LINE = re.compile(r"^\*Facts checked against AWS documentation on [^*]+\*\s*$", re.M)


@dataclass
class Question:
    chapter: str          # docname
    number: int
    title: str
    task: str             # "3.1" or ""
    label: str
    stem: str
    options: dict[str, str]
    kind: str             # single | multiple | order | match
    key: str              # "C", "A, D", "Order: …", "Match: …"
    explanation: str      # the solution after its key
    link: tuple[str, str] | None = None
    link_from: str = ""   # "solution", "further reading" or "the chapter"

    @property
    def keys(self) -> list[str]:
        if self.kind in ("single", "multiple"):
            return [k.strip() for k in self.key.split(",")]
        return []

    def distractor_reasons(self) -> dict[str, str]:
        """For each wrong option, the explanation's sentences that name it in bold."""
        reasons: dict[str, list[str]] = {}
        for sentence in split_sentences(self.explanation):
            for letter in dict.fromkeys(BOLD_LETTER.findall(sentence)):
                if letter in self.options and letter not in self.keys:
                    reasons.setdefault(letter, []).append(sentence)
        return {k: " ".join(v) for k, v in reasons.items()}


@dataclass
class Misconception:
    chapter: str
    title: str
    body: str


@dataclass
class Chapter:
    docname: str
    title: str
    stem: str
    labs: list[str]
    questions: list[Question]
    misconceptions: list[Misconception]
    choosing_heading: str
    choosing: str
    further: list[tuple[str, str]]
    teaching_words: int
    intro: str

    @property
    def number(self) -> str:
        found = re.match(r"(\d+)", self.stem)
        return found.group(1) if found else "00"


def split_sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s for s in re.split(r"(?<=[.!?)])\s+(?=\*\*|[A-Z(`])", flat) if s]


def absolute_docs(text: str, chapter_docname: str, known: set[str] | None = None) -> str:
    """Rewrite a chapter's relative ``{doc}`` roles so the text can live on another page;
    given the book's ``known`` documents, a link to any other becomes plain text."""
    base = Path(chapter_docname).parent

    def fix(match: re.Match[str]) -> str:
        title, target = match.group(1), match.group(2).strip()
        if not target.startswith("/"):
            target = "/" + os.path.normpath(str(base / target)).replace(os.sep, "/")
        if known is not None and target.lstrip("/") not in known:
            return f"*{title or Path(target).name}*"
        return f"{{doc}}`{title} <{target}>`" if title else f"{{doc}}`{target}`"

    return DOC_ROLE.sub(fix, text)


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for every ``## `` section of a chapter."""
    parts = re.split(r"^## (.*)$", text, flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def parse_chapter(path: Path, docname: str) -> Chapter:
    text = path.read_text(encoding="utf-8")
    title_match = re.search(r"^# (.+)$", text, re.M)
    title = title_match.group(1).strip() if title_match else path.stem
    secs = sections(text)
    choosing_heading, choosing = "", ""
    words = 0
    further: list[tuple[str, str]] = []
    for heading, body in secs:
        if heading.startswith(TEACHING_SECTIONS):
            words += len(re.sub(r"[`*|:#-]", " ", body).split())
        if not choosing and heading.startswith(("Choosing", "Decid", "When to")):
            choosing_heading, choosing = heading, body.strip()
        if heading.startswith("Further reading"):
            further = AWS_LINK.findall(body)
    intro = text[title_match.end():].split("\n## ", 1)[0].strip() if title_match else ""
    labs = []
    for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]*labs/[^`>]+)>?`", text):
        doc = os.path.normpath(str(Path(docname).parent / target)).replace(os.sep, "/")
        if doc not in labs:
            labs.append(doc)
    solutions = {m.group("label"): m.group("body") for m in SOLUTION.finditer(text)}
    questions = []
    for match in QUESTION.finditer(text):
        body = match.group("body")
        label_match = re.search(r"^:label: (\S+)", body, re.M)
        label = label_match.group(1) if label_match else ""
        stem_lines = [ln for ln in body.splitlines() if not ln.startswith(":")]
        options = {m.group("letter"): m.group("text").strip() for m in OPTION.finditer(body)}
        stem = "\n".join(ln for ln in stem_lines if not OPTION.match(ln)).strip()
        solution = "\n".join(ln for ln in solutions.get(label, "").splitlines()
                             if not ln.startswith(":")).strip()
        key_match = KEY.search(solution)
        key = key_match.group("key").strip() if key_match else "?"
        explanation = solution[key_match.end():] if key_match else solution
        if key.startswith("Order"):
            kind = "order"
        elif key.startswith("Match"):
            kind = "match"
        elif "," in key:
            kind = "multiple"
        else:
            kind = "single"
        question = Question(docname, int(match.group("num")), match.group("title").strip(),
                            match.group("task") or "", label, stem, options, kind, key,
                            explanation.strip())
        links = AWS_LINK.findall(solution)
        if links:
            question.link, question.link_from = links[0], "solution"
        elif further or AWS_LINK.search(text):
            focus = " ".join(options.get(k, "") for k in re.split(r"\W+", key)) + " " + \
                first_sentence(explanation)
            pool = further or AWS_LINK.findall(text)
            question.link = best_link(focus, pool)
            question.link_from = "further reading" if further else "the chapter"
        questions.append(question)
    misconceptions = []
    for match in MISCONCEPTION.finditer(text):
        body = "\n".join(ln for ln in match.group("body").splitlines()
                         if not ln.startswith(":class:")).strip()
        misconceptions.append(Misconception(docname, match.group("title").strip(), body))
    return Chapter(docname, title, path.stem, labs, questions, misconceptions,
                   choosing_heading, choosing, further, words, intro)


def best_link(text: str, links: list[tuple[str, str]]) -> tuple[str, str]:
    """The further-reading link whose title shares the most words with the question."""
    words = set(re.findall(r"[a-z]{4,}", text.lower()))
    return max(links, key=lambda link: len(words & set(re.findall(r"[a-z]{4,}",
                                                                   link[0].lower()))))


def book_chapters(srcdir: Path) -> list[str]:
    """Chapter docnames in table-of-contents order (the reference part left out)."""
    toc = (srcdir / "_toc.yml").read_text(encoding="utf-8")
    found = re.findall(r"file: (chapters/[^\s]+)", toc)
    return [d for d in found if not d.startswith("chapters/reference/")]


def load_chapters(srcdir: Path) -> list[Chapter]:
    chapters = []
    for docname in book_chapters(srcdir):
        path = srcdir / f"{docname}.md"
        if path.exists():
            chapters.append(parse_chapter(path, docname))
    return chapters


# --------------------------------------------------------------------------------------------
# Labs: run times and outputs
@dataclass
class LabRun:
    docname: str
    exists: bool
    seconds: float | None = None
    measured_by: str = ""          # "make test" | "book build" | ""
    notebook: dict[str, Any] | None = None   # with outputs, if any
    code_cells: int = 0
    header: dict[str, str] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)   # the lab as stored (no outputs)

    @property
    def minutes_source(self) -> str:
        if self.seconds is None:
            return f"not executed in this build: {DEFAULT_RUN_SECONDS:.0f} s assumed"
        return f"{self.seconds:.1f} s measured ({self.measured_by})"


def _has_outputs(nb: dict[str, Any]) -> bool:
    return any(c.get("outputs") for c in nb.get("cells", []) if c.get("cell_type") == "code")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def lab_header(nb: dict[str, Any]) -> dict[str, str]:
    """The rows of the lab's header table (Objectives, Time, …)."""
    if not nb.get("cells"):
        return {}
    first = nb["cells"][0]
    source = "".join(first.get("source", ""))
    rows = re.findall(r"^\| \*\*([^*]+)\*\* \| (.*) \|\s*$", source, re.M)
    result = dict(rows)
    title = re.search(r"^# (.+)$", source, re.M)
    if title:
        result["title"] = title.group(1).strip()
    return result


def lab_run(app: Sphinx | None, srcdir: Path, docname: str,
            exec_runtime: float | None = None) -> LabRun:
    source = srcdir / f"{docname}.ipynb"
    stored = _read(source)
    if stored is None:
        return LabRun(docname, exists=False)
    run = LabRun(docname, exists=True)
    run.code_cells = sum(1 for c in stored["cells"] if c.get("cell_type") == "code")
    run.header = lab_header(stored)
    run.stored = stored
    candidates = [stored, _read(srcdir / "_build" / "executed" / f"{docname}.ipynb")]
    for nb in candidates:
        meta = (nb or {}).get("metadata", {}).get("labkit")
        if nb and meta and meta.get("run_seconds") and _has_outputs(nb):
            run.seconds = float(meta["run_seconds"][0])
            run.measured_by = "make test, first of two runs"
            run.notebook = nb
            return run
    if app is not None:
        executed = _read(Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb")
        if executed and _has_outputs(executed):
            run.notebook = executed
        if exec_runtime is not None:
            run.seconds = float(exec_runtime)
            run.measured_by = "this book build"
    return run


def exec_runtime(app: Sphinx, docname: str) -> float | None:
    try:
        from myst_nb.sphinx_ import NbMetadataCollector

        data = NbMetadataCollector.get_exec_data(app.env, docname)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - another myst-nb: no runtime, the default applies
        return None
    if data and data.get("succeeded") and data.get("runtime") is not None:
        return float(data["runtime"])
    return None


@dataclass
class Minutes:
    teaching: int
    lab: int
    questions: int

    @property
    def total(self) -> int:
        return self.teaching + self.lab + self.questions


def session_minutes(chapter: Chapter, runs: list[LabRun]) -> Minutes:
    teaching = max(10, min(30, round5(5 + chapter.teaching_words / WORDS_PER_TEACHING_MINUTE)))
    lab = 0
    for run in runs:
        if not run.exists:
            continue
        seconds = DEFAULT_RUN_SECONDS if run.seconds is None else run.seconds
        lab += round5(LEARNER_SLOWDOWN * seconds / 60 + READ_MINUTES_PER_CELL * run.code_cells
                      + CHECKPOINT_MINUTES)
    questions = round5(QUESTION_MINUTES * len(chapter.questions)) if chapter.questions else 0
    return Minutes(teaching, lab, questions)


def cell_text(cell: dict[str, Any]) -> str:
    return "".join(cell.get("source", ""))


def stdout_of(cell: dict[str, Any]) -> str:
    out = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            out.append("".join(output.get("text", "")))
        elif output.get("output_type") in ("execute_result",):
            out.append("".join(output.get("data", {}).get("text/plain", "")))
    return "".join(out)


SLOW_CELL_SECONDS = 10  # a cell the test run timed at this or more is shown pre-run
SLOW = re.compile(r"\.train\(|build_image|docker|create_endpoint\(|\.tune\(|wait_|sleep\(|"
                  r"deploy\(|run_pipeline|\.start\(|Processor|Transformer|ModelTrainer\(")
CALL = re.compile(r"\*\*request|\.(?:create|put|start|invoke|update|register|describe|get)_\w+\(")


def classify_cells(nb: dict[str, Any]) -> list[tuple[str, list[str], list[str]]]:
    """Per lab section: (heading, cells to run live, cells to show pre-run with a reason)."""
    rows: list[tuple[str, list[str], list[str]]] = []
    heading, live, pre = "Start", list[str](), list[str]()
    number = 0
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            found = re.search(r"^##+ (.+)$", cell_text(cell), re.M)
            if found:
                if live or pre:
                    rows.append((heading, live, pre))
                heading, live, pre = found.group(1).strip(), [], []
            continue
        if cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell_text(cell)
        if number == 1 or "lab.cleanup()" in source:
            live.append(f"[{number}]")
            continue
        has_figure = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        seconds = cell.get("metadata", {}).get("labkit", {}).get("seconds")
        if seconds is not None and seconds >= SLOW_CELL_SECONDS:
            pre.append(f"[{number}] (took {seconds:.0f} s)")
        elif source.lstrip().startswith("#@save"):
            pre.append(f"[{number}] (#@save: walk through the code)")
        elif SLOW.search(source):
            pre.append(f"[{number}] (containers or waiting)")
        elif has_figure or "plots." in source:
            pre.append(f"[{number}] (figure: discuss it)")
        else:
            live.append(f"[{number}]" + (" (AWS call)" if CALL.search(source) else ""))
    if live or pre:
        rows.append((heading, live, pre))
    return rows


def checkpoints(nb: dict[str, Any], limit: int = 6) -> list[tuple[str, str, str]]:
    """(section, cell, the first lines it printed) for code cells that assert a result."""
    found = []
    heading, number = "Start", 0
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            match = re.search(r"^##+ (.+)$", cell_text(cell), re.M)
            heading = match.group(1).strip() if match else heading
            continue
        if cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell_text(cell)
        if "assert" not in source or "lab.cleanup()" in source:
            continue
        printed = stdout_of(cell).strip()
        if not printed:
            continue
        lines = [ln[:110] + ("…" if len(ln) > 110 else "") for ln in printed.splitlines()]
        shown = "\n".join(lines[:6]) + ("\n…" if len(lines) > 6 else "")
        found.append((heading, f"[{number}]", shown))
    if len(found) > limit:  # spread over the lab
        step = len(found) / limit
        found = [found[int(i * step)] for i in range(limit)]
    return found


def figures(nb: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(base64 PNG, alt text) for every figure the executed lab drew."""
    result = []
    for cell in (nb or {}).get("cells", []):
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                result.append(("".join(png).replace("\n", ""), alt or "Figure from the lab"))
    return result


# --------------------------------------------------------------------------------------------
# Directives
class instructor_node(nodes.General, nodes.Element):  # noqa: N801 - docutils style
    """Filled in once every document was read (and the labs executed)."""


def _markdown(directive: SphinxDirective, text: str) -> list[nodes.Node]:
    container = nodes.container()
    directive.state.nested_parse(StringList(text.splitlines()), directive.content_offset,
                                 container)
    return list(container.children)


def _chapters(directive: SphinxDirective) -> list[Chapter]:
    srcdir = Path(directive.env.srcdir)
    for docname in book_chapters(srcdir):
        directive.env.note_dependency(str(srcdir / f"{docname}.md"))
    directive.env.note_dependency(str(srcdir / "_toc.yml"))
    return load_chapters(srcdir)


class InstructorPlan(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        docname = self.arguments[0].strip("/")
        srcdir = Path(self.env.srcdir)
        path = srcdir / f"{docname}.md"
        if not path.exists():
            raise self.error(f"instructor-plan: no chapter {docname}")
        self.env.note_dependency(str(path))
        chapter = parse_chapter(path, docname)
        md = [f"**Chapter:** {{doc}}`/{docname}`"]
        labs_md = []
        for lab in chapter.labs:
            source = srcdir / f"{lab}.ipynb"
            if source.exists() and lab in self.env.found_docs:
                self.env.note_dependency(str(source))
                header = lab_header(_read(source) or {})
                labs_md.append((lab, header))
        result: list[nodes.Node] = _markdown(self, "\n".join(md))
        result.append(instructor_node(kind="minutes", chapter=docname))
        result.append(instructor_node(kind="slides", chapter=docname))
        text = ["", "### Objectives", ""]
        if labs_md:
            for lab, header in labs_md:
                objective = header.get("Objectives", "see the lab")
                text.append(f"- {{doc}}`/{lab}`: {objective}")
        else:
            why = ("its labs are not in this book build" if chapter.labs
                   else "this chapter has no lab")
            text.append(f"- The chapter ({why}): " + first_sentence(chapter.intro))
        text += ["", "### Key points", ""]
        points = decision_points(chapter.choosing)
        if points:
            text.append(f"From the chapter's decision table (*{chapter.choosing_heading}*):")
            text.append("")
            text += [f"- {p}" for p in points]
        else:
            text.append("- " + first_sentence(chapter.intro))
        if chapter.misconceptions:
            text += ["", "Misconceptions to raise (full text on "
                     "{doc}`the misconceptions sheet </instructor/misconceptions>`):", ""]
            text += [f"- {m.title.split(':', 1)[-1].strip()}" for m in chapter.misconceptions]
        result += _markdown(self, absolute_docs("\n".join(text), docname,
                                                set(self.env.found_docs)))
        for lab, _ in labs_md:
            result += _markdown(self, f"\n### Run live or show pre-run: {{doc}}`/{lab}`\n")
            result.append(instructor_node(kind="cells", chapter=docname, lab=lab))
            result += _markdown(self, f"\n### Checkpoints: {{doc}}`/{lab}`\n")
            result.append(instructor_node(kind="checkpoints", chapter=docname, lab=lab))
        if chapter.questions:
            result += _markdown(self, (
                f"\nThe chapter has {plural(len(chapter.questions), 'practice question')}; keys, "
                "distractors and sources are in the "
                "{doc}`answer key </instructor/answer-key>`."))
        return result


def first_sentence(text: str) -> str:
    sentences = split_sentences(re.sub(r"\s+", " ", text))
    return sentences[0] if sentences else ""


def decision_points(table: str) -> list[str]:
    """'**X** when …' for each row of a chapter's decision table."""
    points = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.startswith("|") or set(cells[0]) <= set(":- "):
            continue
        if cells[0].lower().startswith(("pick", "choose", "use", "option", "if", "approach")):
            continue  # the header row
        pick, when = cells[0], cells[1]
        pick = pick if "**" in pick else f"**{pick}**"
        points.append(f"{pick} — {when}")
    return points


class InstructorAgenda(SphinxDirective):
    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        kind = self.arguments[0]
        if kind not in ("full", "workshop", "sprint"):
            raise self.error(f"instructor-agenda takes full, workshop or sprint, not {kind!r}")
        days: list[tuple[str, list[str]]] = []
        for line in self.content:
            if ":" in line:
                name, stems = line.split(":", 1)
                days.append((name.strip(), stems.split()))
        _chapters(self)
        return [instructor_node(kind="agenda", agenda=kind, days=days)]


class InstructorAnswerKey(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        out: list[str] = []
        for chapter in _chapters(self):
            if not chapter.questions:
                continue
            out += ["", f":::{{rubric}} {chapter.title}", ":::", "",
                    f"{{doc}}`/{chapter.docname}` · {plural(len(chapter.questions), 'question')}"
                    " · keys in order: "
                    + "; ".join(q.key if q.kind in ('single', 'multiple') else q.kind
                                for q in chapter.questions), ""]
            for q in chapter.questions:
                out += answer_markdown(q, set(self.env.found_docs))
        return _markdown(self, "\n".join(out))


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def answer_markdown(q: Question, known: set[str] | None = None) -> list[str]:
    ref = f"{{ref}}`{q.title} <{q.label}>`" if q.label else q.title
    kinds = {"single": "single answer", "multiple": "multiple response",
             "order": "ordering", "match": "matching"}
    lines = ["", f"**{ref}** · {kinds[q.kind]} · key **{q.key}**", ""]
    stem = first_sentence(q.stem.replace("\n", " "))
    if stem:
        lines += [f"> {stem}", ""]
    if q.kind in ("single", "multiple"):
        reasons = q.distractor_reasons()
        for letter, text in q.options.items():
            if letter in q.keys:
                lines.append(f"- **{letter}** (key): {text}")
            else:
                why = reasons.get(letter, "*the explanation does not single this option out; "
                                          "use the key's reasoning*")
                lines.append(f"- **{letter}** · {text} — *why it is wrong:* {why}")
    else:
        lines.append(f"- Why: {first_sentence(q.explanation)}")
    if q.link:
        where = {"solution": "", "further reading": " (from the chapter's further reading)",
                 "the chapter": " (the closest AWS page the chapter links)"}[q.link_from]
        lines.append(f"- Settled by: [{q.link[0]}]({q.link[1]}){where}")
    return [absolute_docs(line, q.chapter, known) for line in lines]


class InstructorMisconceptions(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        out: list[str] = []
        count = 0
        known = set(self.env.found_docs)
        for chapter in _chapters(self):
            for m in chapter.misconceptions:
                count += 1
                body = absolute_docs(m.body, chapter.docname, known)
                out += ["", f"::::{{admonition}} {m.title}", ":class: misconception", "",
                        body, "", f"From {{doc}}`/{chapter.docname}`.", "::::"]
        intro = f"{plural(count, 'misconception')}, collected from the chapters at build time."
        return _markdown(self, intro + "\n" + "\n".join(out))


class InstructorPrompts(SphinxDirective):
    """Every session plan's discussion prompts, by chapter, on one page."""

    def run(self) -> list[nodes.Node]:
        srcdir = Path(self.env.srcdir)
        out: list[str] = []
        for chapter in _chapters(self):
            plan = srcdir / "instructor" / "sessions" / f"{chapter.stem}.md"
            if not plan.exists():
                continue
            self.env.note_dependency(str(plan))
            prompts = dict(sections(plan.read_text(encoding="utf-8"))).get(
                "Discussion prompts", "")
            items = [ln for ln in prompts.splitlines() if ln.startswith("- ")]
            if items:
                plan = f"{{doc}}`{chapter.title} </instructor/sessions/{chapter.stem}>`"
                out += ["", f"**{plan}**", "", *items]
        return _markdown(self, "\n".join(out))


# --------------------------------------------------------------------------------------------
# After reading: tables that need the labs' runs
def chapter_runs(app: Sphinx, chapter: Chapter) -> list[LabRun]:
    srcdir = Path(app.srcdir)
    return [lab_run(app, srcdir, lab, exec_runtime(app, lab)) if lab in app.env.found_docs
            else LabRun(lab, exists=False) for lab in chapter.labs]


def slides_uri(app: Sphinx, fromdoc: str, chapter_docname: str) -> str:
    target = f"instructor/slides/{Path(chapter_docname).name}.html"
    here = Path(app.builder.get_target_uri(fromdoc)).parent
    return os.path.relpath(target, here if str(here) else ".").replace(os.sep, "/")


class InstructorTransform(SphinxPostTransform):
    default_priority = 8

    def run(self, **kwargs: Any) -> None:
        nodes_found = list(self.document.findall(instructor_node))
        if not nodes_found:
            return
        app, fromdoc = self.app, self.env.docname
        srcdir = Path(app.srcdir)
        cache: dict[str, tuple[Chapter, list[LabRun]]] = {}

        def get(docname: str) -> tuple[Chapter, list[LabRun]]:
            if docname not in cache:
                chapter = parse_chapter(srcdir / f"{docname}.md", docname)
                cache[docname] = (chapter, chapter_runs(app, chapter))
            return cache[docname]

        for node in nodes_found:
            kind = node["kind"]
            if kind == "agenda":
                chapters = load_chapters(srcdir)
                for c in chapters:
                    get(c.docname)
                node.replace_self(agenda_nodes(app, fromdoc, node["agenda"], node["days"],
                                               [cache[c.docname] for c in chapters]))
                continue
            chapter, runs = get(node["chapter"])
            if kind == "minutes":
                node.replace_self(minutes_nodes(chapter, runs))
            elif kind == "slides":
                para = nodes.paragraph()
                ref = nodes.reference("", "Slides for this session", internal=False)
                ref["refuri"] = slides_uri(app, fromdoc, chapter.docname)
                para += nodes.strong("", "Slides: ")
                para += ref
                para += nodes.Text(" (one HTML file: opens offline; arrow keys to move, "
                                   "P to print).")
                node.replace_self(para)
            else:
                run = next((r for r in runs if r.docname == node["lab"]), None)
                node.replace_self(lab_nodes(kind, run))


def minutes_nodes(chapter: Chapter, runs: list[LabRun]) -> list[nodes.Node]:
    m = session_minutes(chapter, runs)
    rows = [["Teaching (chapter highlights, opening scenario, decision table)",
             f"{m.teaching} min", f"{chapter.teaching_words} words in the teaching sections"]]
    for run in runs:
        if run.exists:
            rows.append([f"Lab {Path(run.docname).name}",
                         f"{session_minutes(chapter, [run]).lab} min",
                         f"{run.minutes_source}; {run.code_cells} code cells"])
        else:
            rows.append([f"Lab {Path(run.docname).name}", "-", "not in this book"])
    if chapter.questions:
        rows.append(["Practice questions", f"{m.questions} min",
                     f"{len(chapter.questions)} questions"])
    rows.append([nodes.strong("", "Session"), nodes.strong("", f"{m.total} min"), ""])
    return [table(["Part", "Minutes", "Derived from"], rows)]


def lab_nodes(kind: str, run: LabRun | None) -> list[nodes.Node]:
    if run is None or not run.exists:
        return [nodes.paragraph(text="The lab is not part of this book build.")]
    nb = run.notebook
    if kind == "cells":
        source = nb or run.stored
        rows: list[list[Any]] = [[h, ", ".join(live) or "-", ", ".join(pre) or "-"]
                                 for h, live, pre in classify_cells(source)]
        note = nodes.paragraph(text=(
            "Cell numbers are the lab's code cells in order ([1] is the first). Run a cell live "
            "when its request is the lesson; show a pre-run copy (the built page) when it "
            "waits on containers, walks through #@save code, or draws a figure to discuss."))
        return [note, table(["Section", "Run live", "Show pre-run"], rows)]
    if nb is None:
        return [nodes.paragraph(text=(
            "The lab was not executed in this build, so there are no numbers to show: run "
            "make test (it saves executed labs) and build again. Until then, the lab's own "
            "assert cells state the expected values with their tolerances."))]
    found = checkpoints(nb)
    if not found:
        return [nodes.paragraph(text="This lab prints no asserted numbers.")]
    intro = nodes.paragraph(text=(
        "What learners should see (printed by the executed lab in this build; each cell also "
        "asserts these values within a tolerance):"))
    rows = [[h, cell, nodes.literal_block(text, text)] for h, cell, text in found]
    return [intro, table(["Section", "Cell", "Output"], rows)]


def agenda_nodes(app: Sphinx, fromdoc: str, kind: str, days: list[tuple[str, list[str]]],
                 data: list[tuple[Chapter, list[LabRun]]]) -> list[nodes.Node]:
    by_stem = {c.stem: (c, runs) for c, runs in data}
    plan_doc = {c.docname: f"instructor/sessions/{c.stem}" for c, _ in data}

    def session_link(c: Chapter) -> nodes.Node:
        target = plan_doc[c.docname]
        if target in app.env.found_docs:
            return link(app, fromdoc, target, c.title)
        return link(app, fromdoc, c.docname, c.title)

    if kind == "full":
        rows, day, used = [], 1, 0
        for c, runs in data:
            m = session_minutes(c, runs)
            if used and used + m.total > DAY_MINUTES:
                day, used = day + 1, 0
            used += m.total
            rows.append([f"Day {day}", session_link(c), m.teaching, m.lab, m.questions,
                         m.total])
        total = sum(r[-1] for r in rows)
        rows.append([nodes.strong("", "Total"), f"{len(data)} sessions", "", "", "",
                     nodes.strong("", f"{total} min ({total / 60:.1f} h)")])
        return [table(["Day", "Session", "Teaching", "Lab", "Questions", "Minutes"], rows)]
    if kind == "workshop":
        rows = []
        for name, stems in days:
            used = 0
            for stem in stems:
                if stem not in by_stem:
                    rows.append([name, f"{stem}: not a chapter of this book", "", ""])
                    continue
                c, runs = by_stem[stem]
                m = session_minutes(c, runs)
                used += m.total
                rows.append([name, session_link(c), m.total, used])
            budget = "within" if used <= DAY_MINUTES else "OVER"
            rows.append([nodes.strong("", name), nodes.strong("", (
                f"{used} min of {DAY_MINUTES}: {budget} the day's teaching time")), "", ""])
        return [table(["Day", "Session", "Minutes", "Day so far"], rows)]
    # sprint: domains by weight; chapters by how many of their questions train the domain
    out: list[nodes.Node] = []
    rows = []
    sprint_minutes = 6 * 60
    for domain in sorted(DOMAIN_WEIGHTS, key=lambda d: -DOMAIN_WEIGHTS[d]):
        counted = []
        for c, runs in data:
            qs = [q for q in c.questions if q.task.startswith(f"{domain}.")]
            if qs:
                counted.append((len(qs), c, sorted({q.task for q in qs})))
        counted.sort(key=lambda t: (-t[0], t[1].stem))
        share = round5(sprint_minutes * DOMAIN_WEIGHTS[domain] / 100)
        para = nodes.paragraph()
        for i, (n, c, tasks) in enumerate(counted):
            if i:
                para += nodes.Text("; ")
            para += session_link(c)
            para += nodes.Text(f" ({n} q., tasks {', '.join(tasks)})")
        total_q = sum(n for n, _, _ in counted)
        rows.append([f"{domain} · {DOMAIN_NAMES[domain]}", f"{DOMAIN_WEIGHTS[domain]} %",
                     f"{share} min", total_q, para])
    out.append(table(["Domain", "Exam weight", "Sprint minutes (of 360)", "Questions",
                       "Chapters, most questions first"], rows))
    return out


# --------------------------------------------------------------------------------------------
# Slides
SLIDE_CSS = """
html,body{margin:0;height:100%;background:#fff;color:#1a1a1a;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.slide{display:none;box-sizing:border-box;width:100vw;height:100vh;padding:4vh 6vw;
overflow:auto;font-size:clamp(14px,2.1vw,26px)}
.slide.active{display:block}
.slide h1{font-size:2em;margin:.2em 0;color:#0072B2}
.slide h2{font-size:1.4em;margin:.2em 0 .6em;color:#0072B2}
table{border-collapse:collapse;font-size:.62em;width:100%}
th,td{border-bottom:1px solid #bbb;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#eef5fb}
img{max-width:100%;max-height:70vh;display:block;margin:0 auto}
.misconception{border-left:.4em solid #D55E00;padding-left:1em}
.footer{position:fixed;bottom:1vh;right:2vw;font-size:14px;color:#555}
code{background:#f3f3f3;padding:0 .2em}
@media print{.slide{display:block;page-break-after:always;height:auto;width:auto}
.footer{display:none}}
"""
SLIDE_JS = """
(function(){var s=document.querySelectorAll('.slide'),i=0,f=document.getElementById('n');
function show(k){i=Math.max(0,Math.min(s.length-1,k));
s.forEach(function(e,j){e.classList.toggle('active',j===i)});
f.textContent=(i+1)+' / '+s.length;history.replaceState(null,'','#'+(i+1));}
document.addEventListener('keydown',function(e){
if(['ArrowRight','PageDown',' ','ArrowDown'].indexOf(e.key)>=0){show(i+1);e.preventDefault();}
else if(['ArrowLeft','PageUp','ArrowUp'].indexOf(e.key)>=0){show(i-1);e.preventDefault();}
else if(e.key==='Home'){show(0);}else if(e.key==='End'){show(s.length-1);}
else if(e.key==='p'||e.key==='P'){window.print();}});
document.addEventListener('click',function(e){if(e.target.tagName!=='A'){
show(e.clientX>window.innerWidth/3?i+1:i-1);}});
show((parseInt(location.hash.slice(1),10)||1)-1);})();
"""


def md_to_html(text: str) -> str:
    """Markdown (with tables) to HTML; MyST roles become their text."""
    from markdown_it import MarkdownIt

    text = re.sub(r"\{doc\}`(?:([^`<]*?)\s*<)?([^`>]+)>?`",
                  lambda m: (m.group(1) or Path(m.group(2)).name), text)
    text = re.sub(r"\{\w+\}`([^`]*)`", r"`\1`", text)
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def slide_deck(chapter: Chapter, runs: list[LabRun], book_title: str) -> str:
    slides = [f"<h1>{html.escape(chapter.title)}</h1><p>{md_to_html(chapter.intro)}</p>"
              f"<p><em>{html.escape(book_title)} · instructor slides</em></p>"]
    if chapter.choosing:
        slides.append(f"<h2>{html.escape(chapter.choosing_heading)}</h2>"
                      + md_to_html(chapter.choosing))
    for m in chapter.misconceptions:
        slides.append(f'<div class="misconception"><h2>{html.escape(m.title)}</h2>'
                      f"{md_to_html(m.body)}</div>")
    for run in runs:
        title = run.header.get("title", Path(run.docname).name)
        for png, alt in figures(run.notebook)[:3]:
            slides.append(f"<h2>{html.escape(title)}</h2>"
                          f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'
                          f"<p style='font-size:.6em'>{html.escape(alt)}</p>")
        if run.exists and run.notebook is None:
            slides.append(f"<h2>{html.escape(title)}</h2><p>The lab was not executed in "
                          "this build: its figures appear here after <code>make test</code> "
                          "or a book build that runs it.</p>")
    if chapter.questions:
        tasks = sorted({q.task for q in chapter.questions if q.task})
        slides.append("<h2>Practice questions</h2>"
                      f"<p>{len(chapter.questions)} exam-style questions in the chapter "
                      f"(exam tasks {', '.join(tasks)}).</p>")
    body = "\n".join(f'<section class="slide">{s}</section>' for s in slides)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">"  # no request for /favicon.ico
        f"<title>{html.escape(chapter.title)} · slides</title>"
        f"<style>{SLIDE_CSS}</style></head><body>\n{body}\n"
        '<div class="footer" id="n"></div>'
        f"<script>{SLIDE_JS}</script></body></html>\n")


def write_slides(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "instructor" / "slides"
    target.mkdir(parents=True, exist_ok=True)
    title = str(app.config.html_title or app.config.project)
    for chapter in load_chapters(Path(app.srcdir)):
        deck = slide_deck(chapter, chapter_runs(app, chapter), title)
        (target / f"{chapter.stem}.html").write_text(deck, encoding="utf-8")


def always_outdated(app: Sphinx, env: Any, added: set[str], changed: set[str],
                    removed: set[str]) -> list[str]:
    """Re-read the instructor pages on every build: a lab's run time and outputs change
    without any change to these pages' sources."""
    return sorted(d for d in env.found_docs if d.startswith("instructor/"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(instructor_node)
    app.add_directive("instructor-plan", InstructorPlan)
    app.add_directive("instructor-agenda", InstructorAgenda)
    app.add_directive("instructor-answer-key", InstructorAnswerKey)
    app.add_directive("instructor-misconceptions", InstructorMisconceptions)
    app.add_directive("instructor-prompts", InstructorPrompts)
    app.add_post_transform(InstructorTransform)
    app.connect("env-get-outdated", always_outdated)
    app.connect("build-finished", write_slides)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
