"""Who the learner is, as a short token every name and tag on ``aws`` carries (plumbing).

Learners often share one AWS account, and in SageMaker Studio often one execution role, so
the account id and the role do not tell them apart. Each learner gets a *token* of 2 to 8
lower-case letters and digits:

- ``COURSE_LEARNER`` when it is set (checked; a clear error otherwise);
- in SageMaker Studio, a hash of the domain and the user profile (or space) read from
  :data:`STUDIO_METADATA` — every Studio user has their own, even with one shared role;
- elsewhere, a hash of the caller's STS ARN (the IAM user, or the role and its session name,
  which SSO sets to the person's user name).

On ``local`` the token is ``COURSE_LEARNER`` or :data:`LOCAL_TOKEN`: moto's state lives in
the lab's own process, so one machine is one learner and names need not carry it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from labkit.errors import LabKitError

LEARNER_ENV = "COURSE_LEARNER"
"""Set ``COURSE_LEARNER=ana1`` to choose the token yourself (2-8 of ``a-z`` and ``0-9``)."""

STUDIO_METADATA = Path("/opt/ml/metadata/resource-metadata.json")
"""The file SageMaker Studio and notebook instances write about the running app."""

LOCAL_TOKEN = "local"
"""The token on the ``local`` backend when ``COURSE_LEARNER`` is unset."""

TOKEN_PATTERN = re.compile(r"^[a-z0-9]{2,8}$")
DERIVED_LENGTH = 6
"""A derived token is this many hex digits of a SHA-256 (16.7 million values)."""

LONGEST_TOKEN = 8


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DERIVED_LENGTH]


def token_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``COURSE_LEARNER`` checked, or None when it is unset or empty."""
    env = os.environ if environ is None else environ
    raw = env.get(LEARNER_ENV, "").strip()
    if not raw:
        return None
    if not TOKEN_PATTERN.match(raw):
        raise LabKitError(
            f"{LEARNER_ENV}={raw!r} is not a learner token.",
            "use 2 to 8 lower-case letters and digits (e.g. 'ana1'), or unset it to let "
            "the course derive one from your identity.",
        )
    return raw


def studio_identity(path: Path | None = None) -> str | None:
    """``"<domain>/<user profile or space>"`` from Studio's metadata file, if there is one."""
    path = STUDIO_METADATA if path is None else path
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(metadata, dict):
        return None
    who = metadata.get("UserProfileName") or metadata.get("SpaceName")
    if not who:
        return None
    return f"{metadata.get('DomainId', '')}/{who}"


def identity_from_arn(arn: str) -> str:
    """The part of an STS caller ARN that names a person: the IAM user, or role/session.

    ``arn:aws:sts::123456789012:assumed-role/Admin/ana@example.com`` gives
    ``"123456789012:assumed-role/Admin/ana@example.com"``; an account's root user gives
    ``"123456789012:root"``.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or not parts[5]:
        raise LabKitError(
            f"{arn!r} is not a caller ARN.",
            f"set {LEARNER_ENV} to a token of your own (2-8 of a-z and 0-9).",
        )
    return f"{parts[4]}:{parts[5]}"


def derive_token(caller_arn: str, *, metadata: Path | None = None) -> str:
    """The token for a learner who did not set ``COURSE_LEARNER`` (the ``aws`` backend)."""
    studio = studio_identity(metadata)
    if studio is not None:
        return _digest("studio:" + studio)
    return _digest("arn:" + identity_from_arn(caller_arn))


def learner_token(*, local: bool, caller_arn: str = "",
                  environ: Mapping[str, str] | None = None,
                  metadata: Path | None = None) -> str:
    """The learner's token on this backend (see the module's docstring)."""
    chosen = token_from_env(environ)
    if chosen is not None:
        return chosen
    if local:
        return LOCAL_TOKEN
    return derive_token(caller_arn, metadata=metadata)


def carries_token(text: str, token: str) -> bool:
    """True when ``token`` is one hyphen-, slash- or colon-separated piece of ``text``."""
    return re.search(rf"(^|[-/:]){re.escape(token)}($|[-/:])", text) is not None
