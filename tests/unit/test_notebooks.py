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


def test_glue_outside_a_kernel_only_returns_the_value(capsys):
    import numpy as np

    from labkit.notebooks import glue

    assert glue("98-unit-test-x", 3) == 3
    value = glue("98-unit-test-y", np.float64(0.875))
    assert value == 0.875 and type(value) is float  # a plain Python number, not numpy's
    assert capsys.readouterr().out == ""


def test_glueable_makes_numpy_scalars_formattable_by_myst_nb():
    import numpy as np
    from IPython.core.formatters import format_display_data
    from myst_nb.core.variables import format_plain_text

    from labkit.notebooks import glueable

    def shown(value):
        return format_plain_text(format_display_data(value)[0]["text/plain"], ".2f")

    assert shown(glueable(np.float64(0.8749))) == "0.87"
    assert shown(glueable(np.int64(7))) == "7.00"
    assert glueable([1, 2]) == [1, 2] and glueable("a") == "a"
    with pytest.raises(ValueError):
        shown(np.float64(0.8749))  # why glueable exists: numpy 2's repr is np.float64(...)


@pytest.mark.timeout(120)
def test_glue_in_a_kernel_records_what_a_chapter_reads(tmp_path):
    import nbformat
    from myst_nb.ext.glue import extract_glue_data
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np\nfrom labkit.notebooks import glue\n"
        "x = glue('recall_names', np.float64(0.8667))\nprint(x)"))
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.get("text") for o in outputs if o.output_type == "stream"] == ["0.8667\n"]

    class Quiet:
        def warning(self, *args, **kwargs):
            raise AssertionError(args)

    data = extract_glue_data(nb, [0], Quiet())
    assert set(data) == {"recall_names"}
    assert data["recall_names"]["data"]["text/plain"] == "0.8667"
