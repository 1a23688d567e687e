"""Stand-ins for lab 01: a second AWS account, IAM enforcement, and parliament's import.

* :func:`partner_session` — "someone in the other account". Locally an IAM user with an
  access key in a second moto account (moto keeps one set of resources per account id);
  on ``aws`` the learner's own identity plays that part (no long-term keys are minted).
* :func:`iam_enforced` — locally, moto normally allows every call; inside this block it
  checks the caller's identity policies, as AWS always does.
* :func:`retry_while_propagating` — on AWS a role created seconds ago may not be assumable
  yet (IAM is eventually consistent).
* :func:`parliament_module` — imports the parliament linter, lending it the one
  ``pkg_resources`` function it needs where setuptools no longer ships that module.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from labkit.errors import LabKitError

PARTNER_ACCOUNT_ID = "210987654321"
"""The ML startup's account on the ``local`` backend (a separate account to moto)."""

T = TypeVar("T")


def delete_role(iam: Any, name: str) -> bool:
    """Delete a role with its inline policies; False if there was no such role."""
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return False
    return True


def partner_session(
    lab: Any, identity_policy: dict[str, Any], *, user_name: str = "ml-startup-engineer",
    account_id: str = PARTNER_ACCOUNT_ID,
) -> boto3.Session:
    """A boto3 session acting as an engineer of the partner account.

    ``local``: creates IAM user ``user_name`` in moto account ``account_id`` with
    ``identity_policy`` inline and an access key (deleted at cleanup, registered first).
    ``aws``: returns the lab's own session; ``identity_policy`` is only shown, the learner's
    own permissions apply.
    """
    if not lab.is_local:
        return lab.boto_session  # type: ignore[no-any-return]
    if account_id == lab.account_id or not (len(account_id) == 12 and account_id.isdigit()):
        raise LabKitError(f"{account_id!r} cannot be the partner account.",
                          "pick another 12-digit account id.")
    admin = boto3.Session(region_name=lab.region)
    admin.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", account_id))  # moto files these requests under account_id
    iam = admin.client("iam")

    def delete_user() -> None:
        for key in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user_name, AccessKeyId=key["AccessKeyId"])
        for name in iam.list_user_policies(UserName=user_name)["PolicyNames"]:
            iam.delete_user_policy(UserName=user_name, PolicyName=name)
        iam.delete_user(UserName=user_name)

    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        delete_user()  # a clean start after an interrupted run
    lab.on_cleanup(f"delete partner user {user_name} in {account_id}", delete_user)
    iam.create_user(UserName=user_name, Tags=lab.tags)
    iam.put_user_policy(UserName=user_name, PolicyName="assume-company-roles",
                        PolicyDocument=json.dumps(identity_policy))
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"],
                         aws_secret_access_key=key["SecretAccessKey"],
                         aws_session_token=None, region_name=lab.region)


@contextlib.contextmanager
def iam_enforced(lab: Any) -> Iterator[None]:
    """Inside the block every request is checked against the caller's IAM policies.

    ``aws``: nothing to do. ``local``: moto checks identity policies (actions and
    resources; not conditions, bucket policies, boundaries or session policies) and
    rejects unknown keys, so the lab's own admin credentials do not work inside.
    """
    if not lab.is_local:
        yield
        return
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    saved = (settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def enforcement_active() -> bool:
    """True while moto checks IAM policies (inside :func:`iam_enforced` on ``local``)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


def retry_while_propagating(call: Callable[[], T], *, timeout_s: float) -> T:
    """``call()``, retried every 3 s while it fails with AccessDenied, for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "AccessDenied" or time.monotonic() > deadline:
                raise
            time.sleep(3)


def parliament_module() -> types.ModuleType:
    """The parliament package, imported once, with its community auditors' settings."""
    if "parliament" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        sys.modules["pkg_resources"] = pkg_resources_stand_in()
        try:
            import parliament  # noqa: F401
        finally:  # nobody else should mistake the stand-in for the real thing
            del sys.modules["pkg_resources"]
    import parliament

    if not getattr(parliament, "_course_configured", False):
        folder = os.path.dirname(parliament.__file__)
        parliament.override_config(os.path.join(folder, "community_auditors",
                                                "config_override.yaml"))
        parliament._course_configured = True  # type: ignore[attr-defined]
    return parliament


def pkg_resources_stand_in() -> types.ModuleType:
    """A module with only ``resource_filename`` (what parliament 1.6 uses)."""
    module = types.ModuleType("pkg_resources", "course stand-in: only resource_filename")

    def resource_filename(package: str, name: str) -> str:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise LabKitError(f"Package {package!r} not found.", "pip install -r requirements.txt")
        return os.path.join(os.path.dirname(spec.origin), name)

    module.resource_filename = resource_filename  # type: ignore[attr-defined]
    return module
