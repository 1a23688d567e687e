"""Lab 11 runs on MLflow: what the lab relies on in the pinned MLflow, checked offline.

The course no longer has a tracker of its own (``labkit.experiments`` is gone); these tests
pin down the MLflow behaviour the notebook's cells and prose depend on, with values worked
out by hand, in a scratch folder.
"""

from __future__ import annotations

import json

import pytest

from labkit.lessons import notebook_path
from labkit.requests import request_problems

mlflow = pytest.importorskip("mlflow")


def test_telemetry_switch_exists_in_the_pinned_mlflow(monkeypatch):
    """The lab sets MLFLOW_DISABLE_TELEMETRY; a renamed variable would silently re-enable it."""
    from mlflow.telemetry import utils

    monkeypatch.setattr(utils, "_IS_IN_CI_ENV_OR_TESTING", False)
    monkeypatch.setattr(utils, "_IS_MLFLOW_DEV_VERSION", False)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "false")
    assert utils.is_telemetry_disabled() is False
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    assert utils.is_telemetry_disabled() is True
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    assert utils.is_telemetry_disabled() is True


def test_search_runs_keeps_the_last_step_and_params_as_text(tmp_path, monkeypatch):
    """What the lab's comparison cell says: last value per metric, parameters as strings."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/unit.db")
    try:
        experiment = mlflow.create_experiment(
            "98-unit-test", artifact_location=(tmp_path / "a").as_uri()
        )
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_params({"learning_rate": 0.1, "max_depth": 2})
            # logged out of order on purpose: the "last" value is the one at the top step
            values = [(3, 0.30), (1, 0.50), (2, 0.20)]
            mlflow.MlflowClient().log_batch(
                run.info.run_id, metrics=[Metric("loss", v, 0, s) for s, v in values]
            )
        runs = mlflow.search_runs(experiment_ids=[experiment])
        assert len(runs) == 1
        assert runs.loc[0, "metrics.loss"] == pytest.approx(0.30)
        assert runs.loc[0, "params.learning_rate"] == "0.1"
        history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
        assert sorted((m.step, m.value) for m in history) == sorted(values)
    finally:
        mlflow.set_tracking_uri("")


def test_lab_shows_the_tracking_calls_and_classic_requests():
    """Issue 10/13: the tracking calls are in the notebook's cells, not in the kit."""
    cells = json.loads(notebook_path("11-experiments").read_text(encoding="utf-8"))["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for call in ("mlflow.set_tracking_uri", "mlflow.start_run", "mlflow.log_params",
                 "log_batch", "mlflow.sklearn.log_model", "mlflow.search_runs",
                 "get_metric_history", "mlflow.register_model",
                 "set_registered_model_alias", "create_mlflow_tracking_server",
                 "delete_mlflow_tracking_server", '"CreateExperiment"', '"CreateTrial"',
                 '"CreateTrialComponent"', "lab.cleanup()"):
        assert call in source, call
    assert "labkit.experiments" not in source
    # the deletion is registered before the create call
    assert source.index("delete_mlflow_tracking_server") < source.index(
        "create_mlflow_tracking_server(")


def test_classic_trial_component_status_is_an_enum():
    """The lab's 'broken request' cell: hand-picked valid and invalid statuses."""
    base = {"TrialComponentName": "gb-lr0p1-d2"}
    for status in ("InProgress", "Completed", "Failed", "Stopping", "Stopped"):
        assert request_problems("sagemaker", "CreateTrialComponent",
                                {**base, "Status": {"PrimaryStatus": status}}) == []
    problems = request_problems("sagemaker", "CreateTrialComponent",
                                {**base, "Status": {"PrimaryStatus": "Done"}})
    assert len(problems) == 1 and "Done" in problems[0]
