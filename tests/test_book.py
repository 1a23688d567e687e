"""The book builds with warnings as errors, and renders the labs this test run executed.

The lab notebooks run in this same pytest session (twice in one kernel, see conftest.py),
which saves each passing lab's first run under ``_build/executed/``. This test copies the
book's sources into a temporary folder, puts those executed notebooks in place of the stored
ones, and builds with execution forced only for labs that have no current executed copy (a
lab changed since, or this test run alone). So each lab's code runs at most twice per
``make test``, and the book still fails on a cell error or a Sphinx warning.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.docker import docker_status
from labkit.notebooks import source_digest
from labkit.paths import LABS_DIR, REPO_ROOT

EXECUTED_DIR = REPO_ROOT / "_build" / "executed"
SKIP = shutil.ignore_patterns(".git", ".venv", "_build", "__pycache__", ".ipynb_checkpoints",
                              "*.egg-info", ".pytest_cache")


def stage_book(stage: Path) -> tuple[list[str], list[str]]:
    """Copy the sources to ``stage``; put current executed labs in place. Returns
    (labs rendered from this run, labs the build must execute itself)."""
    shutil.copytree(REPO_ROOT, stage, ignore=SKIP)
    rendered, to_execute = [], []
    for source in sorted(LABS_DIR.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in source.parts:
            continue
        rel = source.relative_to(REPO_ROOT)
        executed = EXECUTED_DIR / rel
        current = nbformat.read(source, as_version=4)
        if executed.exists():
            done = nbformat.read(executed, as_version=4)
            meta = done.metadata.get("labkit", {})
            if meta.get("source_sha256") == source_digest(current):
                errors = [o for c in done.cells if c.cell_type == "code"
                          for o in c.outputs if o.get("output_type") == "error"]
                assert not errors, f"{rel} was saved with an error output"
                shutil.copy2(executed, stage / rel)
                rendered.append(rel.as_posix())
                continue
        to_execute.append(rel.as_posix())
    return rendered, to_execute


def configure(stage: Path, rendered: list[str]) -> None:
    """Force execution, except for the labs this run already executed."""
    config = (stage / "_config.yml").read_text(encoding="utf-8")
    patterns = json.dumps(rendered)
    config, count = re.subn(r"execute_notebooks: \w+",
                            f"execute_notebooks: force\n  exclude_patterns: {patterns}", config)
    assert count == 1, "_config.yml no longer sets execute_notebooks"
    (stage / "_config.yml").write_text(config, encoding="utf-8")


@pytest.mark.book
@pytest.mark.docker
@pytest.mark.skipif(not docker_status().ok, reason="the book may execute labs that need Docker")
def test_book_builds_with_warnings_as_errors(tmp_path):
    stage = tmp_path / "book"
    rendered, to_execute = stage_book(stage)
    configure(stage, rendered)
    print(f"rendering {len(rendered)} executed labs, executing {len(to_execute)}: {to_execute}")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(stage), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=3600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    html = stage / "_build" / "html"
    lab00 = (html / "labs" / "00-getting-started" / "00-check-environment.html").read_text()
    assert re.search(r"All \d+ checks passed on the local backend", lab00), "lab 00 has no result"
    status = (html / "chapters" / "reference" / "status.html").read_text()
    for lab in rendered + to_execute:
        assert Path(lab).stem in status, f"the status page does not list {lab}"
    if rendered:
        assert "twice in one kernel" in status
    assert "not executed in this build" not in status
    site = REPO_ROOT / "_build" / "test-site"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(html, site)  # the browser test and a reader can look at it
