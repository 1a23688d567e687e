import json

import pytest

from labkit.errors import LabKitError
from labkit.notebooks import has_outputs, notebooks_under, strip_outputs


def write_nb(path, outputs):
    cell = {"cell_type": "code", "metadata": {"execution": {"x": 1}}, "source": "1+1",
            "outputs": outputs, "execution_count": 3 if outputs else None, "id": "c1"}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_strip_removes_outputs_and_is_idempotent(tmp_path):
    nb = tmp_path / "a.ipynb"
    write_nb(nb, [{"output_type": "stream", "name": "stdout", "text": "2"}])
    assert has_outputs(nb)
    assert strip_outputs(nb)
    assert not has_outputs(nb)
    assert "execution" not in json.loads(nb.read_text())["cells"][0]["metadata"]
    assert not strip_outputs(nb)


def test_notebooks_under_skips_checkpoints(tmp_path):
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_nb(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb", [])
    write_nb(tmp_path / "a.ipynb", [])
    assert notebooks_under(tmp_path) == [tmp_path / "a.ipynb"]
    assert notebooks_under(tmp_path / "a.ipynb") == [tmp_path / "a.ipynb"]
    with pytest.raises(LabKitError):
        notebooks_under(tmp_path / "missing")
