"""Processing script: score the trained model on the test weeks and write evaluation.json.

Inputs:  /opt/ml/processing/model/model.tar.gz  (the training job's artifact)
         /opt/ml/processing/test/test.csv
Output:  /opt/ml/processing/evaluation/evaluation.json, read by the pipeline's condition
         through a PropertyFile and JsonGet.
The naive forecast ("same as last week") is the bar a model has to clear to be worth having.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

BASE = Path("/opt/ml/processing")


def main() -> None:
    with tarfile.open(BASE / "model" / "model.tar.gz") as tar:
        tar.extractall(BASE / "model" / "extracted")
    model = json.loads((BASE / "model" / "extracted" / "model.json").read_text())
    test = pd.read_csv(BASE / "test" / "test.csv")
    y = test[model["label"]].to_numpy(float)
    pred = test[model["features"]].to_numpy(float) @ np.array(model["weights"]) + model["intercept"]
    naive = test["lag_1"].to_numpy(float)

    def rmse(p: np.ndarray) -> float:
        return float(np.sqrt(np.mean((y - p) ** 2)))

    report = {"regression_metrics": {
        "rmse": {"value": rmse(pred)},
        "mae": {"value": float(np.mean(np.abs(y - pred)))},
        "naive_last_week_rmse": {"value": rmse(naive)},
        "rows": {"value": len(test)},
    }}
    out = BASE / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
