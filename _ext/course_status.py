"""The ``course-status`` directive: a table of every lab's last run and every chapter's
facts-checked date, for the book's status page.

A lab's run comes from myst-nb's execution data when the book executed it (``make site``),
or from the ``labkit`` metadata the test suite writes into the executed notebooks it hands
to the book (``make test``): run time of the first run, of the second run in the same
kernel, and of the first code cell (imports and start_lab).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from doctables import link, table

FACTS_LINE = re.compile(r"Facts checked against AWS documentation on (\d{4}-\d{2}-\d{2})")


class course_status_node(nodes.General, nodes.Element):  # noqa: N801 - docutils style
    """Placeholder, replaced once every document has been read (and executed)."""


class CourseStatus(SphinxDirective):
    """``{course-status} labs`` or ``{course-status} facts``."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        kind = self.arguments[0]
        if kind not in ("labs", "facts"):
            raise self.error(f"course-status takes 'labs' or 'facts', not {kind!r}")
        return [course_status_node(kind=kind)]


def _lab_row(app: Sphinx, fromdoc: str, docname: str) -> list[nodes.Node | str]:
    path = Path(app.env.doc2path(docname))
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("labkit")
    ref = link(app, fromdoc, docname, path.stem)
    if meta:
        first, second = meta["run_seconds"]
        start = meta["startup_seconds"]
        return [ref, "passed, twice in one kernel (make test)", f"{first:.1f}",
                f"{second:.1f}", f"{start:.1f} ({100 * start / first:.0f} %)"]
    data: Any = app.env.metadata.get(docname, {})
    try:
        from myst_nb.sphinx_ import NbMetadataCollector

        data = NbMetadataCollector.get_exec_data(app.env, docname)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - an older or newer myst-nb: show what we know
        data = None
    if data:
        ok = "passed (book build)" if data.get("succeeded") else "FAILED (book build)"
        runtime = data.get("runtime")
        return [ref, ok, "-" if runtime is None else f"{runtime:.1f}", "-", "-"]
    return [ref, "not executed in this build", "-", "-", "-"]


class CourseStatusTransform(SphinxPostTransform):
    default_priority = 8

    def run(self, **kwargs: Any) -> None:
        app = self.app
        fromdoc = self.env.docname
        for node in list(self.document.findall(course_status_node)):
            if node["kind"] == "labs":
                labs = sorted(d for d in self.env.found_docs if d.startswith("labs/"))
                node.replace_self(table(
                    ["Lab", "Result", "First run (s)", "Second run (s)",
                     "Start-up: first cell (s)"],
                    [_lab_row(app, fromdoc, d) for d in labs],
                ))
                continue
            chapters = []
            for docname in sorted(d for d in self.env.found_docs if d.startswith("chapters/")):
                text = Path(self.env.doc2path(docname)).read_text(encoding="utf-8")
                found = FACTS_LINE.search(text)
                if found:
                    title = Path(docname).name
                    chapters.append([link(app, fromdoc, docname, title), found.group(1)])
            node.replace_self(table(
                ["Chapter", "Facts checked against AWS documentation"], chapters))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(course_status_node)
    app.add_directive("course-status", CourseStatus)
    app.add_post_transform(CourseStatusTransform)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
