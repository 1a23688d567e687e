"""Contract tests of containers/tabular-sklearn: train, serve and process, by running it.

Training: `docker run IMAGE` (no argument, as ModelTrainer local mode starts it) with /opt/ml
laid out the way SageMaker does. Serving: `docker run IMAGE serve` on a free host port (not
8080), then plain HTTP. Processing: the preprocessing script with /opt/ml/processing mounted.
The trained weights are checked against scikit-learn in this environment (another version
than Debian's in the image), the served predictions against the JSON model.

Run under the shared Docker lock:
    flock /tmp/mlecourse-docker.lock .venv/bin/pytest tests/containers/test_tabular_sklearn.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labkit.docker import build_image, docker_status
from labkit.localmode import free_port, wait_for_ping
from labkit.paths import DATA_DIR

pytestmark = pytest.mark.docker

_STATUS = docker_status()
if not _STATUS.ok:
    pytest.skip("these tests run the tabular-sklearn container and need Docker: "
                + "; ".join(_STATUS.problems), allow_module_level=True)

RAW = DATA_DIR / "weekly-store-demand" / "weekly_sales.csv"


def docker(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> str:
    return build_image("tabular-sklearn").tag


@pytest.fixture(scope="module")
def prepared(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("processing")
    (root / "input" / "raw").mkdir(parents=True)
    shutil.copy(RAW, root / "input" / "raw")
    result = docker("run", "--rm", "-v", f"{root}:/opt/ml/processing", "--entrypoint",
                    "python3", image, "/opt/program/preprocess.py", "--test-weeks", "8")
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def trained(image: str, prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("training")
    for channel in ("train", "validation"):
        (root / "input" / "data" / channel).mkdir(parents=True)
        shutil.copy(prepared / channel / f"{channel}.csv", root / "input" / "data" / channel)
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text('{"alpha": "3.0"}')
    result = docker("run", "--rm", "-v", f"{root}:/opt/ml", image)  # no argument
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def server(image: str, trained: Path) -> Iterator[str]:
    port = free_port()
    cid = docker("run", "-d", "-p", f"127.0.0.1:{port}:8080", "-v",
                 f"{trained / 'model'}:/opt/ml/model", image, "serve").stdout.strip()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_ping(url, timeout=30)
        yield url
    finally:
        docker("rm", "-f", cid)


def post(url: str, body: str) -> tuple[int, str]:
    req = urllib.request.Request(f"{url}/invocations", data=body.encode(),
                                 headers={"Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_processing_splits_by_time_and_keeps_counts(prepared: Path) -> None:
    report = json.loads((prepared / "report" / "report.json").read_text())
    rows = {k: v["rows"] for k, v in report["splits"].items()}
    assert rows == {"train": 1008, "validation": 96, "test": 96}
    assert report["splits"]["validation"]["last_week"] < report["splits"]["test"]["first_week"]
    score = pd.read_csv(prepared / "score" / "score.csv", header=None)
    test = pd.read_csv(prepared / "test" / "test.csv")
    assert np.array_equal(score.to_numpy(), test[report["features"]].to_numpy())


def test_training_weights_match_scikit_learn_here(trained: Path, prepared: Path) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = json.loads((trained / "model" / "model.json").read_text())
    assert model["alpha"] == 3.0 and model["train_rows"] == 1008
    train = pd.read_csv(prepared / "train" / "train.csv")
    here = make_pipeline(StandardScaler(), Ridge(alpha=3.0))
    here.fit(train[model["features"]].to_numpy(float), train["units_sold"].to_numpy(float))
    assert np.allclose(here[1].coef_ / here[0].scale_, model["weights"], rtol=1e-6)
    val = pd.read_csv(prepared / "validation" / "validation.csv")
    pred = here.predict(val[model["features"]].to_numpy(float))
    rmse = float(np.sqrt(np.mean((val["units_sold"].to_numpy() - pred) ** 2)))
    assert model["validation_rmse"] == pytest.approx(rmse, rel=1e-6)


def test_training_failure_writes_the_reason(image: str, tmp_path: Path) -> None:
    (tmp_path / "input" / "data" / "train").mkdir(parents=True)  # a channel without files
    result = docker("run", "--rm", "-v", f"{tmp_path}:/opt/ml", image, "train")
    assert result.returncode == 1
    assert "no CSV file" in (tmp_path / "output" / "failure").read_text()


def test_serving_answers_the_contract(server: str, trained: Path, prepared: Path) -> None:
    with urllib.request.urlopen(f"{server}/execution-parameters", timeout=5) as resp:
        assert json.load(resp)["BatchStrategy"] in ("MultiRecord", "SingleRecord")
    model = json.loads((trained / "model" / "model.json").read_text())
    rows = (prepared / "score" / "score.csv").read_text()
    status, body = post(server, rows)
    assert status == 200
    served = np.array([float(v) for v in body.split()])
    x = pd.read_csv(prepared / "score" / "score.csv", header=None).to_numpy(float)
    assert np.allclose(served, x @ np.array(model["weights"]) + model["intercept"], rtol=1e-12)


def test_serving_refuses_wrong_width_and_survives(server: str) -> None:
    status, body = post(server, "1,2,3\n")
    assert status == 400 and "expected 9 features" in body
    with urllib.request.urlopen(f"{server}/ping", timeout=5) as resp:
        assert resp.status == 200


def test_sigterm_stops_the_server_cleanly(image: str, trained: Path) -> None:
    port = free_port()
    cid = docker("run", "-d", "-p", f"127.0.0.1:{port}:8080", "-v",
                 f"{trained / 'model'}:/opt/ml/model", image, "serve").stdout.strip()
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", timeout=30)  # the handler is installed
        docker("stop", "-t", "30", cid)
        state = json.loads(docker("inspect", cid).stdout)[0]["State"]
        assert state["ExitCode"] == 0  # 137 would mean Docker had to kill it
    finally:
        docker("rm", "-f", cid)
