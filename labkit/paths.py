"""Where things are in the course repository, wherever a notebook is run from."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The root of the course repository (labkit is installed from it in editable mode)."""

DATA_DIR = REPO_ROOT / "data"
"""Small data sets shipped with the course, one folder each with a README (data card)."""

CONTAINERS_DIR = REPO_ROOT / "containers"
"""One folder per Docker image the course builds."""

LABS_DIR = REPO_ROOT / "labs"
"""The lab notebooks."""
