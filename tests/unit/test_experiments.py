"""Unit tests of labkit.experiments: the run store, lineage and the SageMaker mirror."""

import hashlib
from datetime import UTC, datetime

import pytest

import labkit
from labkit.errors import LabKitError
from labkit.experiments import (
    RunStore,
    SageMakerMirror,
    metric_batches,
    sha256_file,
    trial_component_params,
)


def _run(store, tmp_path, name, losses, lr=0.1):
    data = tmp_path / "data.csv"
    if not data.exists():
        data.write_text("a,b\n1,2\n")
    run = store.start(name, {"lr": lr, "kind": "gb"})
    run.log_input("train", data)
    for step, loss in enumerate(losses, start=1):
        run.log_metric("loss", loss, step)
    out = tmp_path / f"{name}.bin"
    out.write_bytes(name.encode())
    run.log_output("model", out)
    store.finish(run)
    return run


def test_store_round_trips_and_picks_best_by_last_value(tmp_path):
    store = RunStore(tmp_path / "runs")
    _run(store, tmp_path, "a", [0.9, 0.1, 0.5])  # best minimum, but last is 0.5
    _run(store, tmp_path, "b", [0.8, 0.4, 0.3], lr=0.3)
    assert [r.name for r in store.runs()] == ["a", "b"]
    assert store.load("a").metrics["loss"] == [(1, 0.9), (2, 0.1), (3, 0.5)]
    assert store.best("loss").name == "b"
    assert store.best("loss", higher_is_better=True).name == "a"
    rows = {r["run"]: r for r in store.table()}
    assert rows["b"]["lr"] == 0.3 and rows["b"]["loss"] == 0.3


def test_lineage_hashes_are_the_file_hashes(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = _run(store, tmp_path, "a", [0.5])
    lin = store.load("a").lineage()
    assert lin["inputs"]["train"] == sha256_file(tmp_path / "data.csv")
    assert lin["outputs"]["model"] == sha256_file(tmp_path / "a.bin")
    assert lin["params"] == run.params
    assert lin["inputs"]["train"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_store_refuses_bad_input(tmp_path):
    store = RunStore(tmp_path / "runs")
    _run(store, tmp_path, "a", [0.5])
    with pytest.raises(LabKitError, match="already exists"):
        store.start("a", {})
    with pytest.raises(LabKitError, match="not a valid run name"):
        store.start("bad name", {})
    run = store.start("c", {})
    run.log_metric("loss", 1.0, 1)
    with pytest.raises(LabKitError, match="step 1 after step 1"):
        run.log_metric("loss", 0.5, 1)
    with pytest.raises(LabKitError, match="finite"):
        run.log_metric("loss", float("nan"), 2)
    with pytest.raises(LabKitError, match="no metric"):
        run.last("acc")
    with pytest.raises(LabKitError, match="No run named"):
        store.load("zzz")


def test_params_and_metric_batches_shapes(tmp_path):
    assert trial_component_params({"lr": 0.1, "depth": 2, "kind": "gb", "flag": True}) == {
        "lr": {"NumberValue": 0.1}, "depth": {"NumberValue": 2.0},
        "kind": {"StringValue": "gb"}, "flag": {"StringValue": "True"}}
    store = RunStore(tmp_path / "runs")
    run = _run(store, tmp_path, "a", [float(i) for i in range(23)])
    batches = list(metric_batches(run, datetime(2026, 1, 1, tzinfo=UTC)))
    assert [len(b) for b in batches] == [10, 10, 3]
    assert batches[2][-1]["Step"] == 23 and batches[2][-1]["Value"] == 22.0


def test_mirror_records_components_and_metrics_in_moto(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = _run(store, tmp_path, "a", [0.9, 0.2, 0.4])
    with labkit.lab_context("11-unit-experiments") as lab:
        sm = lab.client("sagemaker")
        mirror = SageMakerMirror(sm, lab.client("sagemaker-metrics"), "exp", "trial")
        name = mirror.record(run, prefix="t-")
        listed = sm.list_trial_components(TrialName="trial")["TrialComponentSummaries"]
        assert [c["TrialComponentName"] for c in listed] == ["t-a"]
        tc = sm.describe_trial_component(TrialComponentName=name)
        assert tc["Parameters"]["lr"] == {"NumberValue": 0.1}
        assert tc["OutputArtifacts"]["model"]["Value"].endswith(run.outputs[0].sha256)
        loss = tc["Metrics"][0]
        assert (loss["Last"], loss["Min"], loss["Count"]) == (0.4, 0.2, 3)
        mirror.delete()
        assert sm.list_trial_components()["TrialComponentSummaries"] == []
        assert sm.list_experiments()["ExperimentSummaries"] == []
