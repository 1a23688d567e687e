"""Train or serve the weekly-demand model (the image's entry point).

SageMaker runs a training container with no argument (ModelTrainer in local mode) or with
``train``, and a serving container (endpoint or batch transform) with ``serve``.

The model is a ridge regression. It is saved as plain JSON (feature names, one weight per
feature on the raw scale, an intercept), not as a pickle: any Python, numpy or scikit-learn
version -- or a spreadsheet -- can read it back and reproduce every prediction exactly.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = Path("/opt/ml")
MODEL_FILE = "model.json"


def _read_split(channel: str):
    import pandas as pd

    folder = PREFIX / "input" / "data" / channel
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"channel {channel!r}: no CSV file in {folder}")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def train() -> None:
    """Fit ridge regression on the ``train`` channel; report RMSE on ``validation``."""
    import numpy as np
    import sklearn
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    hp_file = PREFIX / "input" / "config" / "hyperparameters.json"
    hps = json.loads(hp_file.read_text()) if hp_file.exists() else {}
    alpha = float(hps.get("alpha", 1.0))
    label = str(hps.get("label", "units_sold"))

    train_df = _read_split("train")
    features = [c for c in train_df.columns if c != label]
    model = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
    model.fit(train_df[features].to_numpy(float), train_df[label].to_numpy(float))

    # Fold the scaler into the weights: prediction = x . weights + intercept on raw features.
    scaler, ridge = model[0], model[1]
    weights = ridge.coef_ / scaler.scale_
    intercept = float(ridge.intercept_ - np.sum(ridge.coef_ * scaler.mean_ / scaler.scale_))
    report = {"train_rows": len(train_df)}
    if (PREFIX / "input" / "data" / "validation").is_dir():
        val = _read_split("validation")
        pred = val[features].to_numpy(float) @ weights + intercept
        rmse = float(np.sqrt(np.mean((val[label].to_numpy(float) - pred) ** 2)))
        report.update(validation_rows=len(val), validation_rmse=rmse)
        print(f"validation:rmse={rmse:.4f}")  # a metric line a MetricDefinition regex can read

    out = PREFIX / "model"
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL_FILE).write_text(json.dumps({
        "kind": "linear-regression",
        "label": label,
        "features": features,
        "weights": [float(w) for w in weights],
        "intercept": intercept,
        "alpha": alpha,
        "trained_with": f"scikit-learn {sklearn.__version__}",
        **report,
    }, indent=2))
    print(f"trained ridge(alpha={alpha}) on {len(train_df)} rows and {len(features)} features")


def load_model(folder: Path = PREFIX / "model") -> dict:
    """Read the JSON model written by :func:`train`."""
    return json.loads((folder / MODEL_FILE).read_text())


def predict_csv(model: dict, body: str) -> str:
    """Score CSV rows (features only, in the model's order, no header); one number a line."""
    lines = []
    for row in body.strip().splitlines():
        if not row.strip():
            continue
        values = [float(v) for v in row.split(",")]
        if len(values) != len(model["weights"]):
            raise ValueError(
                f"expected {len(model['weights'])} features {model['features']}, got {len(values)}"
            )
        y = sum(w * x for w, x in zip(model["weights"], values)) + model["intercept"]
        lines.append(repr(float(y)))
    return "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    model: dict = {}

    def _send(self, status: int, body: str, ctype: str = "text/csv") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(200, "ok\n", "text/plain")
        elif self.path == "/execution-parameters":
            params = {"MaxConcurrentTransforms": 1, "BatchStrategy": "MultiRecord",
                      "MaxPayloadInMB": 6}
            self._send(200, json.dumps(params), "application/json")
        else:
            self._send(404, "not found\n", "text/plain")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._send(404, "not found\n", "text/plain")
            return
        length = int(self.headers.get("Content-Length", 0))
        try:
            self._send(200, predict_csv(self.model, self.rfile.read(length).decode()))
        except ValueError as exc:
            self._send(400, f"{exc}\n", "text/plain")

    def log_message(self, fmt: str, *args: object) -> None:
        print("serve:", fmt % args, flush=True)


def serve() -> None:
    """Answer /ping and /invocations on port 8080 (what endpoints and batch transform call)."""
    # PID 1 ignores SIGTERM unless it installs a handler: without this, "docker stop" (and
    # the end of every batch transform) waits 10 s and then kills the container.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _Handler.model = load_model()
    print(f"serving {len(_Handler.model['features'])}-feature model on :8080", flush=True)
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))),
                        _Handler).serve_forever()


def _fail(exc: BaseException) -> None:
    """Write the reason where SageMaker reads it (the job's FailureReason), then exit 1."""
    reason = f"{type(exc).__name__}: {exc}"
    failure = PREFIX / "output" / "failure"
    try:
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(reason[:1024])
    except OSError:
        pass
    print(reason, file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "train"
    if command == "serve":
        serve()
    elif command == "train":
        try:
            train()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure gets a reason
            _fail(exc)
    else:
        raise SystemExit(f"unknown command {command!r}: use 'train' (default) or 'serve'")
