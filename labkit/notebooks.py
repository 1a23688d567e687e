"""Keep notebooks stored without outputs (the book and nbval execute them fresh)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from labkit.errors import LabKitError


def notebooks_under(root: Path | str) -> list[Path]:
    """Every ``.ipynb`` below ``root`` (a file is returned as itself), checkpoints excluded."""
    path = Path(root)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LabKitError(f"{path} is neither a notebook nor a folder.", "pass labs/ or a .ipynb.")
    return sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def has_outputs(notebook: Path) -> bool:
    """True when any code cell of ``notebook`` has outputs or an execution count."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return any(
        c.get("outputs") or c.get("execution_count")
        for c in cells
        if c.get("cell_type") == "code"
    )


def strip_outputs(notebook: Path) -> bool:
    """Remove outputs and execution counts in place; return True when the file changed."""
    text = notebook.read_text(encoding="utf-8")
    data = json.loads(text)
    for cell in data["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    data.get("metadata", {}).pop("widgets", None)
    new = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        tmp = notebook.with_suffix(".ipynb.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(notebook)
        return True
    return False


def source_digest(notebook: Any) -> str:
    """A hash of a notebook's cell sources (an nbformat node or the JSON as a dict).

    An executed copy of a lab is current when its digest equals the stored notebook's.
    """
    sources = []
    for cell in notebook["cells"]:
        source = cell["source"]
        sources.append("".join(source) if isinstance(source, list) else source)
    return hashlib.sha256("\x00".join(sources).encode("utf-8")).hexdigest()


def glueable(value: Any) -> Any:
    """``value`` as a plain Python object, so a glued number prints as ``0.87``.

    A numpy scalar's repr is ``np.float64(0.87)`` in numpy 2, which myst-nb's ``{glue:text}``
    cannot format; ``.item()`` turns it into the Python number it holds.
    """
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value


def glue(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for the book's chapters, and return it.

    When the book executes a lab, myst-nb keeps what ``myst_nb.glue`` recorded, and a
    chapter prints it with a ``{glue:text}`` role (``path/to/lab.ipynb::name:.2f``), so
    the page shows the number this run computed, not a number typed by hand. Outside a
    Jupyter kernel, or where myst-nb is not installed (a SageMaker Studio image), this
    only returns ``value``.
    """
    value = glueable(value)
    try:
        from IPython import get_ipython
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    if get_ipython() is None:
        return value
    myst_glue(name, value, display=False)
    return value
