"""Processing script: weekly sales -> model-ready train / validation / test / score files.

SageMaker copies the input to /opt/ml/processing/input/raw and, when the script ends,
uploads every folder under /opt/ml/processing/<output> to S3. Nothing here knows about S3.

  lag_1        units the same store sold the week before
  mean_4       mean units of the 4 weeks before (not including this week: no leakage)
  week_sin/cos the ISO week on a circle, so week 52 sits next to week 1
Splits are by time, never at random: the last --test-weeks weeks are the test (and
scoring) window, the --validation-weeks before them validation, the rest training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

BASE = Path("/opt/ml/processing")
LABEL = "units_sold"
FEATURES = ["store_size_m2", "avg_price", "promo", "holiday_week", "temperature_c",
            "lag_1", "mean_4", "week_sin", "week_cos"]


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    df = raw.sort_values(["store_id", "week_start"]).reset_index(drop=True)
    by_store = df.groupby("store_id")[LABEL]
    df["lag_1"] = by_store.shift(1)
    df["mean_4"] = by_store.transform(lambda s: s.shift(1).rolling(4).mean())
    iso_week = pd.to_datetime(df["week_start"]).dt.isocalendar().week.astype(float)
    df["week_sin"] = np.sin(2 * np.pi * iso_week / 52).round(6)
    df["week_cos"] = np.cos(2 * np.pi * iso_week / 52).round(6)
    return df.dropna(subset=["lag_1", "mean_4"]).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-weeks", type=int, default=8)
    parser.add_argument("--validation-weeks", type=int, default=8)
    args = parser.parse_args()

    files = sorted((BASE / "input" / "raw").glob("*.csv"))
    raw = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    df = build_features(raw)

    weeks = sorted(df["week_start"].unique())
    test_from = weeks[-args.test_weeks]
    val_from = weeks[-(args.test_weeks + args.validation_weeks)]
    split = np.where(df["week_start"] >= test_from, "test",
                     np.where(df["week_start"] >= val_from, "validation", "train"))

    columns = [LABEL, *FEATURES]
    for name in ("train", "validation", "test"):
        out = BASE / name
        out.mkdir(parents=True, exist_ok=True)
        df.loc[split == name, columns].to_csv(out / f"{name}.csv", index=False)
    # What batch transform scores: the test window's features, no header, no label.
    score = BASE / "score"
    score.mkdir(parents=True, exist_ok=True)
    df.loc[split == "test", FEATURES].to_csv(score / "score.csv", index=False, header=False)

    report_dir = BASE / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    df.loc[split == "test", ["store_id", "week_start"]].to_csv(
        report_dir / "score_keys.csv", index=False)
    report = {
        "input_rows": len(raw),
        "rows_dropped_without_history": int(len(raw) - len(df)),
        "features": FEATURES,
        "label": LABEL,
        "splits": {
            name: {
                "rows": int((split == name).sum()),
                "first_week": str(df.loc[split == name, "week_start"].min()),
                "last_week": str(df.loc[split == name, "week_start"].max()),
            }
            for name in ("train", "validation", "test")
        },
    }
    (report_dir / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report["splits"]))


if __name__ == "__main__":
    main()
