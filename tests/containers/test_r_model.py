"""Contract tests of containers/r-model: SageMaker's training and hosting contract, by running it.

Training: `docker run IMAGE` (and `IMAGE train`) with /opt/ml mounted the way SageMaker lays
it out. Hosting: `docker run IMAGE serve` published on a free host port (not 8080, which
local-mode endpoints use), then plain HTTP to /ping and /invocations.

Run under the shared Docker lock:
    flock /tmp/mlecourse-docker.lock .venv/bin/pytest tests/containers/test_r_model.py
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.docker import build_image, docker_status
from labkit.localmode import wait_for_ping
from labkit.paths import DATA_DIR

pytestmark = pytest.mark.docker

_STATUS = docker_status()
if not _STATUS.ok:
    pytest.skip(
        "these tests run the r-model container and need a Docker engine: "
        + "; ".join(_STATUS.problems),
        allow_module_level=True,
    )

FEATURES = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]
CLASSES = ["setosa", "versicolor", "virginica"]
TEST_CSV = DATA_DIR / "iris" / "test" / "iris-test.csv"


# ----------------------------------------------------------------------------- helpers
def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def opt_ml(root: Path, hyperparameters: dict[str, str], channels: dict[str, Path]) -> Path:
    """Lay out /opt/ml the way SageMaker does before it starts a training container."""
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    for name, source in channels.items():
        shutil.copytree(source, root / "input" / "data" / name)
    (root / "model").mkdir()
    (root / "output").mkdir()
    return root


def run_training(image: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return docker("run", "--rm", "-v", f"{root}:/opt/ml", image, *args)


def request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """(status, content type, body text) of one HTTP request, errors included."""
    req = urllib.request.Request(url, data=body, headers=headers or {},
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


def held_out_rows() -> list[list[str]]:
    lines = TEST_CSV.read_text().splitlines()[1:]
    return [line.split(",")[:4] for line in lines]


def as_csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode()


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def image() -> str:
    return build_image("r-model").tag


@pytest.fixture(scope="module")
def trained(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/opt/ml after a successful default-command training run."""
    root = opt_ml(
        tmp_path_factory.mktemp("train-ok"),
        {"ntree": "200", "seed": "3"},
        {"train": DATA_DIR / "iris" / "train", "test": DATA_DIR / "iris" / "test"},
    )
    result = run_training(image, root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture(scope="module")
def server(image: str, trained: Path) -> Iterator[str]:
    """Base URL of `IMAGE serve` with the trained model mounted at /opt/ml/model."""
    port = free_port()
    started = docker("run", "-d", "-p", f"127.0.0.1:{port}:8080",
                     "-v", f"{trained / 'model'}:/opt/ml/model:ro", image, "serve")
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_ping(url, timeout=60)
        yield url
    finally:
        docker("rm", "-f", container)


# ----------------------------------------------------------------------------- training
def test_training_writes_model_metrics_and_held_out_predictions(trained: Path) -> None:
    model = trained / "model"
    assert (model / "model.rds").stat().st_size > 1000
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["train_rows"] == 120 and metrics["test_rows"] == 30
    assert metrics["ntree"] == 200
    assert 0 <= metrics["oob_error"] < 0.2
    assert metrics["test_accuracy"] >= 0.85
    lines = (model / "test_predictions.csv").read_text().splitlines()
    assert len(lines) == 30
    assert not (trained / "output" / "failure").exists()


def test_train_argument_trains_too(image: str, tmp_path: Path) -> None:
    # On AWS SageMaker starts training containers as `IMAGE train`.
    root = opt_ml(tmp_path, {"ntree": "20"}, {"train": DATA_DIR / "iris" / "train"})
    result = run_training(image, root, "train")
    assert result.returncode == 0, result.stderr
    assert (root / "model" / "model.rds").is_file()
    assert not (root / "model" / "test_predictions.csv").exists()  # no test channel given


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "expected"),
    [
        ({"ntree": "many"}, {"train": "train"}, "hyperparameter ntree must be an integer"),
        ({"ntree": "10", "depth": "3"}, {"train": "train"}, "unknown hyperparameter(s): depth"),
        ({"mtry": "9"}, {"train": "train"}, "mtry = 9 but there are only 4 features"),
        ({"target": "Colour"}, {"train": "train"}, "has no column 'Colour'"),
        ({}, {}, "no .csv file in the 'train' channel"),
    ],
    ids=["bad-integer", "unknown-hyperparameter", "mtry-too-large", "no-target", "no-channel"],
)
def test_training_failure_writes_failure_file_and_exits_non_zero(
    image: str, tmp_path: Path, hyperparameters: dict[str, str],
    channels: dict[str, str], expected: str,
) -> None:
    root = opt_ml(tmp_path, hyperparameters,
                  {k: DATA_DIR / "iris" / v for k, v in channels.items()})
    result = run_training(image, root)
    assert result.returncode != 0
    failure = (root / "output" / "failure").read_text()
    assert expected in failure
    assert not (root / "model" / "model.rds").exists()


def test_unknown_command_is_refused(image: str) -> None:
    result = docker("run", "--rm", image, "fit")
    assert result.returncode == 2
    assert "usage: [train|serve]" in result.stderr


def test_serve_without_a_model_exits_with_a_reason(image: str, tmp_path: Path) -> None:
    result = docker("run", "--rm", "-v", f"{tmp_path}:/opt/ml/model", image, "serve")
    assert result.returncode != 0
    assert "Cannot load the model from /opt/ml/model/model.rds" in result.stderr


# ----------------------------------------------------------------------------- hosting
def test_ping(server: str) -> None:
    status, _, _ = request(f"{server}/ping")
    assert status == 200


def test_execution_parameters_for_batch_transform(server: str) -> None:
    status, content_type, body = request(f"{server}/execution-parameters")
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body) == {
        "MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6,
    }


def test_csv_invocation_equals_the_models_own_predictions(server: str, trained: Path) -> None:
    status, content_type, body = request(
        f"{server}/invocations", as_csv(held_out_rows()), {"Content-Type": "text/csv"}
    )
    assert status == 200 and content_type.startswith("text/csv")
    # Independent reference: what R predicted for these rows inside the training job.
    assert body.strip() == (trained / "model" / "test_predictions.csv").read_text().strip()
    for line in body.splitlines():
        label, *probs = line.split(",")
        assert label in CLASSES
        assert abs(sum(map(float, probs)) - 1.0) < 1e-9
        assert label == CLASSES[max(range(3), key=lambda i: float(probs[i]))]


def test_csv_with_header_and_charset(server: str) -> None:
    rows = held_out_rows()[:2]
    body = ",".join(FEATURES).encode() + b"\r\n" + as_csv(rows) + b"\r\n"
    status, _, text = request(f"{server}/invocations", body,
                              {"Content-Type": "text/csv; charset=utf-8"})
    assert status == 200
    assert len(text.splitlines()) == 2


def test_json_invocation_lists_and_objects(server: str) -> None:
    rows = held_out_rows()[:3]
    as_lists = {"instances": [[float(v) for v in r] for r in rows]}
    as_objects = {"instances": [dict(zip(FEATURES, map(float, r))) for r in rows]}
    answers = []
    for doc in (as_lists, as_objects, as_lists["instances"]):
        status, content_type, body = request(
            f"{server}/invocations", json.dumps(doc).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200 and content_type.startswith("application/json")
        answers.append(json.loads(body))
    assert answers[0] == answers[1] == answers[2]
    csv_status, _, csv_body = request(f"{server}/invocations", as_csv(rows),
                                      {"Content-Type": "text/csv"})
    assert csv_status == 200
    for prediction, line in zip(answers[0]["predictions"], csv_body.splitlines()):
        label, *probs = line.split(",")
        assert prediction["label"] == label
        assert [prediction["probabilities"][c] for c in CLASSES] == [float(p) for p in probs]


def test_accept_json_for_csv_input(server: str) -> None:
    status, content_type, body = request(
        f"{server}/invocations", as_csv(held_out_rows()[:1]),
        {"Content-Type": "text/csv", "Accept": "application/json"},
    )
    assert status == 200 and content_type.startswith("application/json")
    assert set(json.loads(body)["predictions"][0]["probabilities"]) == set(CLASSES)


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"5.1,abc,1.4,0.2", {"Content-Type": "text/csv"}, 400,
         "CSV row 1, column 2 ('Sepal.Width'): 'abc' is not a number"),
        (b"5.1,3.5,1.4,0.2\n6.0,2.2", {"Content-Type": "text/csv"}, 400,
         "CSV row 2 has 2 value(s); the model expects 4"),
        (b"5.1,3.5,1.4,0.2,9.9", {"Content-Type": "text/csv"}, 400,
         "CSV row 1 has 5 value(s)"),
        (b"5.1,3.5,1.4,0.2,", {"Content-Type": "text/csv"}, 400,
         "CSV row 1 has 5 value(s)"),
        (b"5.1,,1.4,0.2", {"Content-Type": "text/csv"}, 400,
         "CSV row 1, column 2 ('Sepal.Width'): '' is not a number"),
        (b"", {"Content-Type": "text/csv"}, 400, "empty request body"),
        (b"\n\n", {"Content-Type": "text/csv"}, 400, "the CSV body has no rows"),
        (b"5.1,3.5,1.4,0.2", {"Content-Type": "text/plain"}, 415,
         "unsupported Content-Type 'text/plain'"),
        (b"5.1,3.5,1.4,0.2", {"Content-Type": "text/csv", "Accept": "image/png"}, 406,
         "unsupported Accept 'image/png'"),
        (b'{"instances": [[5.1, 3.5', {"Content-Type": "application/json"}, 400,
         "the body is not valid JSON"),
        (b'{"rows": [[5.1, 3.5, 1.4, 0.2]]}', {"Content-Type": "application/json"}, 400,
         'needs a non-empty list "instances"'),
        (b'{"instances": [{"Sepal.Length": 5.1}]}', {"Content-Type": "application/json"}, 400,
         "JSON row 1 lacks the feature(s) Sepal.Width, Petal.Length, Petal.Width"),
        (b'{"instances": [[5.1, "x", 1.4, 0.2]]}', {"Content-Type": "application/json"}, 400,
         "JSON row 1, feature 'Sepal.Width' is not a number"),
    ],
    ids=["malformed-csv", "ragged-csv", "too-many-columns", "trailing-comma", "empty-field",
         "empty-body", "blank-lines",
         "unsupported-content-type", "unsupported-accept", "malformed-json",
         "json-without-instances", "json-missing-feature", "json-string-value"],
)
def test_bad_input_gets_a_clear_4xx(
    server: str, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    got_status, content_type, text = request(f"{server}/invocations", body, headers)
    assert got_status == status, text
    assert content_type.startswith("text/plain")
    assert message in text


def test_server_survives_bad_input(server: str) -> None:
    request(f"{server}/invocations", b"garbage", {"Content-Type": "text/csv"})
    status, _, _ = request(f"{server}/invocations", as_csv(held_out_rows()[:1]),
                           {"Content-Type": "text/csv"})
    assert status == 200


def test_bind_to_port_and_sigterm(image: str, trained: Path) -> None:
    # Serial inference pipelines tell each container its port in SAGEMAKER_BIND_TO_PORT;
    # tini as PID 1 lets `docker stop` end the server with SIGTERM (exit 143), not SIGKILL.
    port = free_port()
    started = docker("run", "-d", "-e", "SAGEMAKER_BIND_TO_PORT=9090",
                     "-p", f"127.0.0.1:{port}:9090",
                     "-v", f"{trained / 'model'}:/opt/ml/model:ro", image, "serve")
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", timeout=60)
        assert docker("stop", "-t", "20", container).returncode == 0
        code = docker("inspect", "-f", "{{.State.ExitCode}}", container).stdout.strip()
        assert code == "143"
    finally:
        docker("rm", "-f", container)


def test_the_log_under_a_terminal_is_plain_text(image: str, trained: Path) -> None:
    # Local mode serves with a terminal attached (docker-compose `tty: true`). R's cli
    # package, which plumber loads, then wrote "show cursor" codes (ESC[?25h) into the log,
    # and the book showed them as "?25h?25h..." in lab 06.
    port = free_port()
    started = docker("run", "-d", "-t", "-p", f"127.0.0.1:{port}:8080",
                     "-v", f"{trained / 'model'}:/opt/ml/model:ro", image, "serve")
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", timeout=60)
        log = docker("logs", container).stdout
        assert "serving model.rds" in log
        assert "\x1b[?25" not in log, repr(log[:200])
    finally:
        docker("rm", "-f", container)
