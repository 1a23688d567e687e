"""A small experiment tracker: runs, parameters, per-step metrics, artifacts, lineage.

:class:`RunStore` keeps every run as one JSON file in a folder — the same things MLflow or
SageMaker Experiments record (parameters, metrics by step, input and output artifacts with
content hashes), small enough to read in one sitting. :class:`SageMakerMirror` copies the
finished runs into SageMaker Experiments through boto3: an experiment, a trial, one trial
component per run with its parameters and artifacts, and the metrics through the
``sagemaker-metrics`` ``BatchPutMetrics`` API. On the ``local`` backend those calls go to
moto, which stores them and computes metric summaries; on AWS they appear in Studio.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.errors import LabKitError

_RUN_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$")
"""SageMaker's rule for experiment, trial and trial component names (1–120 characters)."""

METRICS_PER_CALL = 10
"""``BatchPutMetrics`` takes at most 10 metric values per call."""


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex (what lineage records for an artifact)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Artifact:
    """A file a run read (input) or wrote (output), identified by its content hash."""

    name: str
    path: str
    sha256: str


@dataclass
class Run:
    """One run: parameters, metric series, artifacts. Create it with :meth:`RunStore.start`."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    inputs: list[Artifact] = field(default_factory=list)
    outputs: list[Artifact] = field(default_factory=list)
    status: str = "InProgress"
    started: str = ""
    ended: str = ""

    def log_metric(self, name: str, value: float, step: int) -> None:
        """Record ``value`` of metric ``name`` at ``step`` (steps must increase)."""
        value = float(value)
        if not math.isfinite(value):
            raise LabKitError(f"Metric {name!r} at step {step} is {value}.",
                              "log finite numbers; a NaN loss means the run diverged.")
        series = self.metrics.setdefault(name, [])
        if series and step <= series[-1][0]:
            raise LabKitError(
                f"Metric {name!r}: step {step} after step {series[-1][0]}.",
                "log each step once, in increasing order.",
            )
        series.append((int(step), value))

    def log_input(self, name: str, path: str | Path) -> Artifact:
        """Record a file the run read, with its hash."""
        artifact = Artifact(name, str(path), sha256_file(path))
        self.inputs.append(artifact)
        return artifact

    def log_output(self, name: str, path: str | Path) -> Artifact:
        """Record a file the run wrote, with its hash."""
        artifact = Artifact(name, str(path), sha256_file(path))
        self.outputs.append(artifact)
        return artifact

    def last(self, metric: str) -> float:
        """The metric's value at its last step."""
        if metric not in self.metrics or not self.metrics[metric]:
            raise LabKitError(f"Run {self.name!r} has no metric {metric!r}.",
                              f"it has {sorted(self.metrics)}.")
        return self.metrics[metric][-1][1]

    def lineage(self) -> dict[str, Any]:
        """data hash(es) → parameters → model hash(es): how this run's output was made."""
        return {
            "inputs": {a.name: a.sha256 for a in self.inputs},
            "params": dict(self.params),
            "outputs": {a.name: a.sha256 for a in self.outputs},
        }


class RunStore:
    """Runs kept as ``<root>/<run name>.json``; readable with any JSON tool."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, params: Mapping[str, Any]) -> Run:
        """A new run (refuses a name that exists: runs are records, not scratch space)."""
        if not _RUN_NAME.match(name):
            raise LabKitError(
                f"{name!r} is not a valid run name.",
                "use letters, digits and single hyphens, at most 120 characters.",
            )
        if self._path(name).exists():
            raise LabKitError(f"A run named {name!r} already exists.",
                              "give every run its own name (e.g. add the grid point).")
        return Run(name=name, params=dict(params), started=_now())

    def finish(self, run: Run, status: str = "Completed") -> Path:
        """Mark ``run`` finished and write it; return the file."""
        run.status = status
        run.ended = _now()
        path = self._path(run.name)
        path.write_text(json.dumps(asdict(run), indent=1, sort_keys=True))
        return path

    def runs(self) -> list[Run]:
        """Every stored run, by name."""
        return [self.load(p.stem) for p in sorted(self.root.glob("*.json"))]

    def load(self, name: str) -> Run:
        """One stored run."""
        path = self._path(name)
        if not path.exists():
            raise LabKitError(f"No run named {name!r} in {self.root}.",
                              "list the names with [r.name for r in store.runs()].")
        data = json.loads(path.read_text())
        data["metrics"] = {k: [(int(s), float(v)) for s, v in series]
                           for k, series in data["metrics"].items()}
        data["inputs"] = [Artifact(**a) for a in data["inputs"]]
        data["outputs"] = [Artifact(**a) for a in data["outputs"]]
        return Run(**data)

    def best(self, metric: str, *, higher_is_better: bool = False) -> Run:
        """The completed run with the best last value of ``metric``."""
        done = [r for r in self.runs() if r.status == "Completed"]
        if not done:
            raise LabKitError("The store has no completed run.", "finish some runs first.")
        sign = 1.0 if higher_is_better else -1.0
        return max(done, key=lambda r: sign * r.last(metric))

    def table(self) -> list[dict[str, Any]]:
        """One flat row per run: name, status, params, last value of every metric."""
        rows = []
        for run in self.runs():
            row: dict[str, Any] = {"run": run.name, "status": run.status}
            row.update(run.params)
            row.update({m: s[-1][1] for m, s in run.metrics.items() if s})
            rows.append(row)
        return rows

    def _path(self, name: str) -> Path:
        return self.root / f"{name}.json"


# --------------------------------------------------------------------------- SageMaker
def trial_component_params(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Parameters in the trial-component shape: numbers as ``NumberValue``, else strings."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out[key] = {"StringValue": str(value)}
        else:
            out[key] = {"NumberValue": float(value)}
    return out


def metric_batches(run: Run, timestamp: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
    """The run's metric values as ``BatchPutMetrics`` ``MetricData`` lists of ≤ 10."""
    when = timestamp or datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for name, series in run.metrics.items():
        for step, value in series:
            batch.append({"MetricName": name, "Timestamp": when, "Step": step,
                          "Value": value})
            if len(batch) == METRICS_PER_CALL:
                yield batch
                batch = []
    if batch:
        yield batch


class SageMakerMirror:
    """Copies finished runs into SageMaker Experiments (experiment → trial → components)."""

    def __init__(self, sm: Any, metrics: Any, experiment: str, trial: str) -> None:
        for name in (experiment, trial):
            if not _RUN_NAME.match(name):
                raise LabKitError(f"{name!r} is not a valid experiment or trial name.",
                                  "use letters, digits and hyphens (≤ 120).")
        self.sm = sm
        self.metrics = metrics
        self.experiment = experiment
        self.trial = trial
        self.components: list[str] = []
        sm.create_experiment(ExperimentName=experiment)
        sm.create_trial(TrialName=trial, ExperimentName=experiment)

    def record(self, run: Run, prefix: str = "") -> str:
        """Create the run's trial component, attach it to the trial, put its metrics."""
        name = f"{prefix}{run.name}"[:120]
        self.sm.create_trial_component(
            TrialComponentName=name,
            DisplayName=run.name,
            Status={"PrimaryStatus": run.status},
            Parameters=trial_component_params(run.params),
            InputArtifacts={a.name: {"Value": f"sha256:{a.sha256}"} for a in run.inputs},
            OutputArtifacts={a.name: {"Value": f"sha256:{a.sha256}"} for a in run.outputs},
        )
        self.sm.associate_trial_component(TrialComponentName=name, TrialName=self.trial)
        for batch in metric_batches(run):
            errors = self.metrics.batch_put_metrics(
                TrialComponentName=name, MetricData=batch).get("Errors", [])
            if errors:
                raise LabKitError(f"BatchPutMetrics refused values for {name}: {errors}.",
                                  "check that the trial component exists and steps are ints.")
        self.components.append(name)
        return name

    def delete(self) -> None:
        """Remove what :meth:`record` and the constructor created (components first)."""
        for name in self.components:
            self.sm.disassociate_trial_component(TrialComponentName=name,
                                                 TrialName=self.trial)
            self.sm.delete_trial_component(TrialComponentName=name)
        self.components.clear()
        self.sm.delete_trial(TrialName=self.trial)
        self.sm.delete_experiment(ExperimentName=self.experiment)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
