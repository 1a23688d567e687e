"""Make weekly_sales.csv: two years of weekly unit sales for 12 stores of a fictional chain.

Run from the repository root: ``.venv/bin/python data/weekly-store-demand/generate.py``.
The output is deterministic (fixed seed), so re-running it reproduces the committed file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
STORES = 12
WEEKS = 104
FIRST_MONDAY = "2024-01-01"
HOLIDAY_ISO_WEEKS = {1, 13, 14, 22, 35, 47, 51, 52}  # New Year, Easter, long weekends, Christmas


def make(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weeks = pd.date_range(FIRST_MONDAY, periods=WEEKS, freq="W-MON")
    rows = []
    for s in range(STORES):
        size = int(rng.integers(40, 250)) * 10          # sales floor, m²
        base_price = round(float(rng.uniform(2.4, 3.6)), 2)
        base_units = 0.9 * size * float(rng.uniform(0.8, 1.2))
        for w, monday in enumerate(weeks):
            iso_week = int(monday.isocalendar().week)
            season = np.sin(2 * np.pi * (iso_week - 10) / 52)   # peaks in early summer
            temperature = round(float(11 + 9 * season + rng.normal(0, 2.5)), 1)
            promo = int(rng.random() < 0.2)
            holiday = int(iso_week in HOLIDAY_ISO_WEEKS)
            price = round(base_price * (0.85 if promo else 1.0) * float(rng.uniform(0.97, 1.03)), 2)
            trend = 1 + 0.002 * w
            units = base_units * trend * (1 + 0.12 * season) * (1 + 0.30 * promo) \
                * (1 + 0.25 * holiday) * (base_price / price) ** 0.8
            units = max(0, round(float(units + rng.normal(0, 0.06 * base_units))))
            rows.append({
                "week_start": monday.date().isoformat(),
                "store_id": f"S{s + 1:02d}",
                "store_size_m2": size,
                "avg_price": price,
                "promo": promo,
                "holiday_week": holiday,
                "temperature_c": temperature,
                "units_sold": units,
            })
    return pd.DataFrame(rows)


if __name__ == "__main__":
    out = Path(__file__).with_name("weekly_sales.csv")
    df = make()
    df.to_csv(out, index=False)
    print(f"wrote {len(df)} rows to {out}")
