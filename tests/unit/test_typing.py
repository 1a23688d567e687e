"""labkit is typed: mypy must accept the whole package."""

import subprocess
import sys

from labkit.paths import REPO_ROOT


def test_mypy_accepts_labkit():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "labkit"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
