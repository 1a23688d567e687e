"""Evidently on the course's pandas (lab 12a): the open-source drift check AWS points to.

Model Monitor is closed to new customers, and AWS's guidance for them is open-source
monitoring such as Evidently. Evidently 0.7.23, the newest release, imports
``pandas.core.dtypes.common.infer_dtype_from_object``, a private pandas helper that pandas 3
removed, so ``import evidently`` fails on the course's pins. :func:`load_evidently` puts an
equivalent back first. Evidently calls it only in a legacy column-type test, which the lab
does not use; nothing else is changed, and nothing is downloaded.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np


def _dtype_type(dtype: Any) -> type:
    """What pandas 2's ``infer_dtype_from_object`` returned for a dtype: its scalar type."""
    return np.dtype(dtype).type


def load_evidently() -> types.ModuleType:
    """``import evidently``, after restoring the pandas helper it expects."""
    import pandas.core.dtypes.common as common

    if not hasattr(common, "infer_dtype_from_object"):
        common.infer_dtype_from_object = _dtype_type  # type: ignore[attr-defined]
    import evidently

    return evidently
