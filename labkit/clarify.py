"""Transitional: the names lab 12 still imports from the former ``labkit.clarify``.

The Adult data and model now live in :mod:`labkit.standins.adult`; the Clarify lessons (bias
formulas, Shapley values, the job configuration) are cells of labs 16a and 16b. Delete this
module once lab 12 imports :mod:`labkit.standins.adult` and builds its Clarify configs itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.errors import LabKitError
from labkit.standins.adult import (  # noqa: F401  (re-exported for lab 12)
    ADULT_CSV,
    ADULT_LABEL,
    encode_adult,
    load_adult,
    train_adult_model,
)


def shap_config(
    *, baseline: Sequence[Sequence[Any]], num_samples: int | None = None, seed: int = 0,
    features: int | None = None,
) -> Any:
    """A ``SHAPConfig`` for Kernel SHAP; baseline values become plain JSON types."""
    from sagemaker.core import clarify

    rows = [[v.item() if isinstance(v, np.generic) else v for v in row] for row in baseline]
    if features is not None and any(len(row) != features for row in rows):
        raise LabKitError(f"Every baseline row must hold {features} feature values.",
                          "leave the label column out of the baseline rows.")
    return clarify.SHAPConfig(baseline=rows, num_samples=num_samples, agg_method="mean_abs",
                              save_local_shap_values=True, seed=seed)


def model_config(*, model_name: str, instance_type: str = "ml.m5.large") -> Any:
    """A ``ModelConfig``: the SageMaker model Clarify serves on a shadow endpoint."""
    from sagemaker.core import clarify

    return clarify.ModelConfig(model_name=model_name, instance_type=instance_type,
                               instance_count=1, content_type="text/csv",
                               accept_type="text/csv")
