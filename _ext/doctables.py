"""Docutils tables and links for the book's own extensions (status page, instructor's edition)."""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx


def table(headers: list[str], rows: list[list[Any]]) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for text in headers:
        row += nodes.entry("", nodes.paragraph(text=text))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            if isinstance(cell, nodes.literal_block):
                entry += cell
            else:
                para = nodes.paragraph()
                para += cell if isinstance(cell, nodes.Node) else nodes.Text(str(cell))
                entry += para
            row += entry
        body += row
    return table


def link(app: Sphinx, fromdoc: str, docname: str, text: str) -> nodes.Node:
    ref = nodes.reference("", text, internal=True)
    ref["refuri"] = app.builder.get_relative_uri(fromdoc, docname)
    return ref
