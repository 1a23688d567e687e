"""Reuse what a lab taught: the code cells a lab marks ``#@save``, loaded as a module.

A lab writes and explains a function in the cell where it is taught, with ``#@save`` as the
cell's first line (d2l.ai's convention). Tests, and later labs, then reuse that very code
instead of a copy in the kit::

    events = labkit.lessons.load("02-s3-event-notifications")
    events.execution_name("bucket", "key", "version", "etag")

A ``#@save`` cell holds only imports, constants, functions and classes: no calls to AWS,
no ``lab`` object, nothing that prints.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

from labkit.errors import LabKitError
from labkit.paths import LABS_DIR

SAVE_MARK = "#@save"
_cache: dict[tuple[str, float], types.ModuleType] = {}


def notebook_path(lab_name: str) -> Path:
    """The notebook of ``lab_name`` (its file name without ``.ipynb``) under ``labs/``."""
    found = sorted(LABS_DIR.glob(f"*/{lab_name}.ipynb"))
    if len(found) != 1:
        raise LabKitError(
            f"No single lab notebook is named {lab_name!r} (found {len(found)}).",
            "pass the notebook's file name without .ipynb, e.g. '02-s3-event-notifications'.",
        )
    return found[0]


def saved_sources(notebook: Path) -> list[str]:
    """The sources of the code cells whose first line is ``#@save``, in notebook order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    sources = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"]
        text = "".join(source) if isinstance(source, list) else source
        if text.lstrip().startswith(SAVE_MARK):
            sources.append(text)
    return sources


def load(lab_name: str) -> types.ModuleType:
    """A module holding every ``#@save`` cell of ``lab_name``, executed in order (cached)."""
    path = notebook_path(lab_name)
    key = (str(path), path.stat().st_mtime)
    if key in _cache:
        return _cache[key]
    sources = saved_sources(path)
    if not sources:
        raise LabKitError(
            f"The lab {lab_name!r} has no cell marked {SAVE_MARK}.",
            f"start the cells that define reusable code with a {SAVE_MARK} line.",
        )
    module_name = "labkit.lessons.lab_" + lab_name.replace("-", "_")
    module = types.ModuleType(module_name, f"The #@save cells of {path.name}.")
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    try:
        for number, source in enumerate(sources, start=1):
            code = compile(source, f"{path.name} [#@save cell {number}]", "exec")
            exec(code, module.__dict__)  # noqa: S102 - the course's own notebook cells
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    _cache[key] = module
    return module
