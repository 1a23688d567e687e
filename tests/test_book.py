"""The book builds with warnings as errors, executing every lab, and shows lab 00's results."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.docker import docker_status
from labkit.paths import REPO_ROOT


@pytest.mark.book
@pytest.mark.docker
@pytest.mark.skipif(not docker_status().ok, reason="the book executes labs that need Docker")
def test_book_builds_with_warnings_as_errors(tmp_path):
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(REPO_ROOT), "--path-output", str(tmp_path),
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=3600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    html = tmp_path / "_build" / "html"
    lab00 = (html / "labs" / "00-getting-started" / "00-check-environment.html").read_text()
    assert re.search(r"All \d+ checks passed on the local backend", lab00), "lab 00 was not executed"
    status = (html / "chapters" / "reference" / "status.html").read_text()
    assert "00-check-environment" in status
    shutil.rmtree(tmp_path / "_build" / ".jupyter_cache", ignore_errors=True)
