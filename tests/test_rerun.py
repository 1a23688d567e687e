"""Every lab runs twice in a row in one kernel — what a learner does with "Run all" twice.

The second run must pass too: start_lab cleans up the first run's lab, names do not clash,
and nothing the first run left (files, containers, registered handlers) breaks the second.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from labkit.docker import docker_status
from labkit.paths import LABS_DIR

LABS = sorted(p for p in LABS_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def uses_docker(notebook: Path) -> bool:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return any("docker=True" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


PARAMS = [pytest.param(p, id=p.stem, marks=[pytest.mark.rerun] + (
    [pytest.mark.docker] if uses_docker(p) else [])) for p in LABS]


@pytest.mark.parametrize("notebook", PARAMS)
def test_lab_runs_twice_in_one_kernel(notebook: Path, tmp_path, monkeypatch):
    if uses_docker(notebook) and not docker_status().ok:
        pytest.skip("this lab needs a Docker engine")
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    try:
                        client.execute_cell(cell, index)
                    except Exception as exc:  # name the run and the cell, then fail
                        pytest.fail(f"run {run}, cell {index} of {notebook.name}: {exc}")
