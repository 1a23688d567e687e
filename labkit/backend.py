"""Choosing the backend: ``local`` (the default) or ``aws`` (a real account).

The one switch is the environment variable :data:`BACKEND_ENV`. Anything other than an
explicit ``aws`` keeps every request on this machine, so a learner never reaches a real
account by accident.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from labkit.errors import LabKitError

BACKEND_ENV = "COURSE_BACKEND"
"""Set ``COURSE_BACKEND=aws`` to run the labs against a real AWS account."""

REGION_ENV = "COURSE_REGION"
"""Region to use; falls back to ``AWS_REGION``/``AWS_DEFAULT_REGION``, then us-east-1."""

DEFAULT_REGION = "us-east-1"


class Backend(str, enum.Enum):
    """Where the AWS control planes and the SageMaker compute of a lab run."""

    LOCAL = "local"
    AWS = "aws"


def current_backend(environ: Mapping[str, str] | None = None) -> Backend:
    """Return the backend selected by :data:`BACKEND_ENV` (``local`` when unset)."""
    env = os.environ if environ is None else environ
    raw = env.get(BACKEND_ENV, "").strip().lower()
    if raw in ("", Backend.LOCAL.value):
        return Backend.LOCAL
    if raw == Backend.AWS.value:
        return Backend.AWS
    raise LabKitError(
        f"{BACKEND_ENV}={env.get(BACKEND_ENV)!r} is not a backend this course knows.",
        f"unset {BACKEND_ENV} (or set it to 'local') to run on this machine, "
        f"or set {BACKEND_ENV}=aws to use a real AWS account.",
    )


def current_region(environ: Mapping[str, str] | None = None) -> str:
    """Return the region the labs use."""
    env = os.environ if environ is None else environ
    for name in (REGION_ENV, "AWS_REGION", "AWS_DEFAULT_REGION"):
        value = env.get(name, "").strip()
        if value:
            return value
    return DEFAULT_REGION
