"""IAM helpers for the cross-account lab: policy documents, a second account, assume-role
sessions, IAM enforcement on moto, and a least-privilege lint built on parliament.

The lab's lesson is in the policy documents and the STS calls, so those stay visible in the
notebook; this module keeps the plumbing out of it:

* :func:`s3_read_policy`, :func:`cross_account_trust_policy`, :func:`assume_role_policy` —
  the three documents of the pattern, as plain dicts.
* :func:`partner_principal` — "someone in the other account". Locally an IAM user with an
  access key in a second moto account; on a real account the learner's own identity (one
  account plays both parts).
* :func:`assume_role` — ``sts:AssumeRole`` and a boto3 session on the temporary credentials.
* :func:`iam_enforced` — on ``local``, makes moto check identity policies for a block
  (a real account always does).
* :func:`lint_policy` and :func:`granted_actions` — parliament's findings, and what a policy
  grants counted by access level.
* :func:`trust_policy_allows` — a deliberately small model of how AWS reads a trust policy
  (account principals, ``sts:ExternalId``), for comparing with what the backend did.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import os
import sys
import time
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from labkit.errors import LabKitError

if TYPE_CHECKING:
    from labkit.session import Lab

PARTNER_ACCOUNT_ID = "210987654321"
"""The second (ML startup's) account on the ``local`` backend. moto keeps one set of
resources per account id, so this is a genuinely separate account there."""

MIN_SESSION_SECONDS = 900
"""Shortest ``DurationSeconds`` STS accepts for AssumeRole (15 minutes)."""

MAX_SESSION_SECONDS = 43_200
"""Longest ``DurationSeconds`` a role can be configured for (12 hours)."""

Policy = dict[str, Any]

# --------------------------------------------------------------------------- documents


def account_root_arn(account_id: str, partition: str = "aws") -> str:
    """``arn:aws:iam::<account>:root`` — "the account", as a principal in a policy."""
    _check_account_id(account_id)
    return f"arn:{partition}:iam::{account_id}:root"


def s3_read_policy(bucket: str, prefix: str = "", partition: str = "aws") -> Policy:
    """Least-privilege read access to one bucket (optionally one prefix of it).

    Two statements, because the two actions live on different resources: ``s3:ListBucket``
    is an action on the *bucket* ARN, ``s3:GetObject`` on *object* ARNs (``bucket/key``).
    With a prefix, listing is narrowed with the ``s3:prefix`` condition key.
    """
    if not bucket or "/" in bucket or "*" in bucket:
        raise LabKitError(
            f"s3_read_policy({bucket!r}): expected one bucket name.",
            "pass the bucket name only (no wildcards, no 's3://', no key).",
        )
    prefix = prefix.lstrip("/")
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    listing: dict[str, Any] = {
        "Sid": "ListTheSharedBucket",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket_arn,
    }
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            listing,
            {
                "Sid": "ReadTheSharedObjects",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{prefix}*",
            },
        ],
    }


from labkit.roles import service_trust_policy  # noqa: E402,F401 - moved; lab 01 owns iam


def cross_account_trust_policy(
    trusted_account_id: str, external_id: str | None = None, partition: str = "aws"
) -> Policy:
    """A role trust policy: principals of ``trusted_account_id`` may call sts:AssumeRole.

    Naming the account root delegates the choice of *which* principals to that account's
    administrators (their identity policies must also allow sts:AssumeRole on the role).
    With ``external_id`` the call must also carry that ExternalId (confused-deputy guard).
    """
    statement: dict[str, Any] = {
        "Sid": "TrustThePartnerAccount",
        "Effect": "Allow",
        "Principal": {"AWS": account_root_arn(trusted_account_id, partition)},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        if not external_id:
            raise LabKitError(
                "An empty ExternalId protects nothing.",
                "pass a unique value per customer (e.g. a UUID), or None for no condition.",
            )
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def assume_role_policy(role_arn: str) -> Policy:
    """The identity policy the *calling* side needs: sts:AssumeRole on exactly one role."""
    if not role_arn.startswith("arn:") or ":role/" not in role_arn:
        raise LabKitError(
            f"assume_role_policy({role_arn!r}): that is not a role ARN.",
            "pass the Arn returned by iam.create_role(...)['Role']['Arn'].",
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeTheCompanyRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": role_arn,
            }
        ],
    }


# --------------------------------------------------------------------------- roles


def delete_role(iam: Any, role_name: str, missing_ok: bool = True) -> bool:
    """Delete a role with its inline and attached policies; return True if it existed."""
    try:
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role_name, PolicyName=name)
        for pol in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role_name, PolicyArn=pol["PolicyArn"])
        iam.delete_role(RoleName=role_name)
        return True
    except ClientError as exc:
        if missing_ok and exc.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise


# --------------------------------------------------------------------------- principals


@dataclass
class Principal:
    """Someone who makes AWS calls: a boto3 session plus who it is."""

    name: str
    account_id: str
    arn: str
    session: boto3.Session
    simulated: bool
    """True when the "other account" is played by the lab's own account (aws backend)."""

    def client(self, service: str, **kwargs: Any) -> Any:
        """A client acting as this principal."""
        return self.session.client(service, region_name=self.session.region_name, **kwargs)


def partner_principal(
    lab: Lab,
    identity_policy: Policy,
    *,
    user_name: str = "ml-startup-engineer",
    account_id: str = PARTNER_ACCOUNT_ID,
) -> Principal:
    """A principal in the partner (ML startup's) account.

    ``local``: creates IAM user ``user_name`` in moto account ``account_id`` with an access key
    and ``identity_policy`` as its inline policy, and returns a session on that key; moto
    treats it as a separate account. ``aws``: a course must not mint long-term keys on a
    learner's account, and a second account is rarely at hand, so the learner's own identity
    plays the partner (``simulated=True``); ``identity_policy`` is then only shown, the
    learner's own permissions apply. Cleanup deletes the user.
    """
    if not lab.is_local:
        sts = lab.client("sts")
        me = sts.get_caller_identity()
        return Principal("you (simulated partner)", str(me["Account"]), str(me["Arn"]),
                         lab.boto_session, simulated=True)
    _check_account_id(account_id)
    if account_id == lab.account_id:
        raise LabKitError(
            f"The partner account {account_id} is the lab's own account.",
            "pick another 12-digit account id for the partner.",
        )
    admin = _moto_account_session(lab, account_id)
    iam = admin.client("iam")
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        _delete_user(iam, user_name)
    iam.create_user(UserName=user_name, Tags=lab.tags)
    iam.put_user_policy(UserName=user_name, PolicyName="assume-company-role",
                        PolicyDocument=json.dumps(identity_policy))
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    lab.on_cleanup(f"delete partner user {user_name} in {account_id}",
                   lambda: _delete_user(iam, user_name))
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=None,  # a user key has no token (explicit: ignore the env one)
        region_name=lab.region,
    )
    return Principal(user_name, account_id, f"arn:aws:iam::{account_id}:user/{user_name}",
                     session, simulated=False)


def _moto_account_session(lab: Lab, account_id: str) -> boto3.Session:
    """A session whose requests moto files under ``account_id`` (admin, local only)."""
    session = boto3.Session(region_name=lab.region)

    def _route(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    session.events.register("before-sign", _route)
    return session


def _delete_user(iam: Any, user_name: str) -> None:
    for key in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user_name, AccessKeyId=key["AccessKeyId"])
    for name in iam.list_user_policies(UserName=user_name)["PolicyNames"]:
        iam.delete_user_policy(UserName=user_name, PolicyName=name)
    iam.delete_user(UserName=user_name)


# --------------------------------------------------------------------------- STS


@dataclass
class TemporaryCredentials:
    """What sts:AssumeRole returned, and a boto3 session that uses it."""

    session: boto3.Session
    assumed_role_arn: str
    access_key_id: str
    expiration: dt.datetime
    issued_at: dt.datetime
    """Server time of the AssumeRole response (its HTTP Date header, whole seconds)."""

    @property
    def lifetime_seconds(self) -> float:
        """Seconds from issue to expiry, both on the server's clock (whole seconds)."""
        return (self.expiration.replace(microsecond=0) - self.issued_at).total_seconds()

    def client(self, service: str, **kwargs: Any) -> Any:
        """A client acting as the assumed role."""
        return self.session.client(service, region_name=self.session.region_name, **kwargs)


def assume_role(
    caller: Principal | boto3.Session,
    role_arn: str,
    session_name: str,
    *,
    external_id: str | None = None,
    duration_seconds: int = MIN_SESSION_SECONDS,
    wait_seconds: float = 0.0,
) -> TemporaryCredentials:
    """Call sts:AssumeRole as ``caller`` and return the temporary credentials as a session.

    ``wait_seconds`` retries AccessDenied for that long: on a real account a role created
    seconds ago may not be assumable yet (IAM is eventually consistent). Keep it 0 when a
    denial is the expected answer.
    """
    session = caller.session if isinstance(caller, Principal) else caller
    sts = session.client("sts", region_name=session.region_name)
    kwargs: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": duration_seconds,
    }
    if external_id is not None:
        kwargs["ExternalId"] = external_id
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            response = sts.assume_role(**kwargs)
            break
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "AccessDenied" or time.monotonic() > deadline:
                raise
            time.sleep(3)
    creds = response["Credentials"]
    date_header = response["ResponseMetadata"]["HTTPHeaders"].get("date")
    issued = (
        _parse_http_date(date_header) if date_header else dt.datetime.now(dt.timezone.utc)
    )
    temp = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=session.region_name,
    )
    return TemporaryCredentials(
        session=temp,
        assumed_role_arn=str(response["AssumedRoleUser"]["Arn"]),
        access_key_id=str(creds["AccessKeyId"]),
        expiration=creds["Expiration"],
        issued_at=issued,
    )


def _parse_http_date(value: str) -> dt.datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(value).astimezone(dt.timezone.utc)


def error_code(call: Any, *args: Any, **kwargs: Any) -> str:
    """Run ``call(*args, **kwargs)``; return ``"OK"`` or the AWS error code it raised."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "OK"


# --------------------------------------------------------------------------- enforcement


@contextlib.contextmanager
def iam_enforced(lab: Lab) -> Iterator[None]:
    """Inside the block, every request is authorised against IAM policies.

    ``aws``: nothing to do, AWS always does. ``local``: moto normally allows everything;
    here it checks the caller's *identity* policies (actions and resources, not
    conditions, bucket policies, boundaries or session policies) and rejects unknown keys,
    so the lab's own admin credentials do not work inside the block.
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

    return bool(
        ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    )


# --------------------------------------------------------------------------- trust model


def trust_policy_allows(
    trust_policy: Policy, caller_arn: str, external_id: str | None = None
) -> bool:
    """Would AWS let ``caller_arn`` assume a role with this trust policy (trust side only)?

    A teaching model, not AWS: it reads ``Principal: {"AWS": ...}`` (account id, account
    root ARN, exact ARN or ``"*"``) and ``StringEquals`` on ``sts:ExternalId``, with an
    explicit Deny winning. Anything else raises LabKitError rather than guess. The caller's
    own identity policy (checked by AWS too when the principal is an account) is not modelled.
    """
    caller_account = _account_of(caller_arn)
    allowed = False
    for stmt in _statements(trust_policy):
        if not _matches(stmt.get("Action"), "sts:AssumeRole"):
            continue
        if not _principal_matches(stmt.get("Principal"), caller_arn, caller_account):
            continue
        if not _conditions_hold(stmt.get("Condition", {}), external_id):
            continue
        if stmt.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _statements(policy: Policy) -> list[dict[str, Any]]:
    stmts = policy.get("Statement", [])
    return [stmts] if isinstance(stmts, dict) else list(stmts)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _matches(patterns: Any, action: str) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns))


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or not parts[4].isdigit():
        raise LabKitError(f"{arn!r} is not a principal ARN.", "pass an IAM or STS ARN.")
    return parts[4]


def _principal_matches(principal: Any, caller_arn: str, caller_account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or set(principal) - {"AWS"}:
        raise LabKitError(
            f"trust_policy_allows: principal {principal!r} is outside this small model.",
            "use AWS principals (account ids or ARNs); services and federation are not modelled.",
        )
    for value in _as_list(principal.get("AWS")):
        value = str(value)
        if value in ("*", caller_arn, caller_account):
            return True
        if value.endswith(":root") and _account_of(value) == caller_account:
            return True
    return False


def _conditions_hold(condition: Mapping[str, Any], external_id: str | None) -> bool:
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            if operator != "StringEquals" or key.lower() != "sts:externalid":
                raise LabKitError(
                    f"trust_policy_allows: condition {operator} {key} is outside this model.",
                    "only StringEquals on sts:ExternalId is modelled.",
                )
            if external_id is None or external_id not in _as_list(expected):
                return False
    return True


# --------------------------------------------------------------------------- linting


@dataclass(frozen=True)
class Finding:
    """One lint finding: parliament's issue code, severity, title and detail."""

    issue: str
    severity: str
    title: str
    detail: str
    source: str = "parliament"


_SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}


def lint_policy(policy: Policy | str, *, kind: str = "identity") -> list[Finding]:
    """Lint an IAM policy with parliament (community auditors included).

    ``kind="identity"`` for permission policies (what parliament is written for).
    ``kind="trust"`` for role trust policies: parliament's complaint that a statement has no
    ``Resource`` is dropped (a trust policy never has one), and two checks parliament lacks
    are added (source ``"labkit"``): a ``"*"`` principal, and a cross-account principal
    with no ``sts:ExternalId`` condition (advice for third-party access).
    Findings are sorted, most severe first.
    """
    if kind not in ("identity", "trust"):
        raise LabKitError(f"lint_policy(kind={kind!r}) is unknown.", "use 'identity' or 'trust'.")
    text = policy if isinstance(policy, str) else json.dumps(policy)
    parliament = _parliament()
    result = parliament.analyze_policy_string(text, include_community_auditors=True)
    findings = []
    for raw in result.findings:
        raw = parliament.enhance_finding(raw)
        detail = raw.detail if isinstance(raw.detail, str) else _short(raw.detail)
        if not detail and isinstance(raw.location, dict) and raw.location.get("actions"):
            detail = _short(raw.location["actions"])
        if kind == "trust" and raw.issue == "MALFORMED" and "Resource" in detail:
            continue
        findings.append(Finding(raw.issue, raw.severity, raw.title.strip(), detail))
    if kind == "trust" and not any(f.issue == "MALFORMED_JSON" for f in findings):
        findings += _trust_findings(json.loads(text))
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.issue))


def _trust_findings(policy: Policy) -> list[Finding]:
    found = []
    for stmt in _statements(policy):
        if stmt.get("Effect") != "Allow":
            continue
        principal = stmt.get("Principal")
        aws = _as_list(principal.get("AWS")) if isinstance(principal, Mapping) else [principal]
        keys = {k.lower() for pairs in stmt.get("Condition", {}).values() for k in pairs}
        if "*" in aws:
            found.append(Finding("TRUST_ANY_PRINCIPAL", "HIGH", "Anyone may assume this role",
                                 "Principal is '*'", "labkit"))
        elif aws and "sts:externalid" not in keys:
            found.append(Finding("TRUST_NO_EXTERNAL_ID", "LOW",
                                 "Other accounts trusted without an ExternalId",
                                 _short(aws), "labkit"))
    return found


def granted_actions(policy: Policy) -> dict[str, list[str]]:
    """Every action an identity policy's Allow statements name, by AWS access level.

    Wildcards are expanded with parliament's copy of the service authorization reference
    (so ``s3:*`` becomes every S3 action it knows). Resources and conditions are ignored:
    this measures *breadth of actions*, one axis of least privilege.
    """
    parliament = _parliament()
    levels: dict[str, set[str]] = {}
    by_service = {s["prefix"]: s for s in parliament.iam_definition}
    for stmt in _statements(policy):
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt:
            raise LabKitError("granted_actions: NotAction grants everything else.",
                              "list actions explicitly.")
        for pattern in _as_list(stmt.get("Action")):
            for item in parliament.expand_action(str(pattern)):
                service = by_service[item["service"]]
                level = next(p["access_level"] for p in service["privileges"]
                             if p["privilege"] == item["action"])
                levels.setdefault(level, set()).add(f"{item['service']}:{item['action']}")
    return {level: sorted(actions) for level, actions in sorted(levels.items())}


def _short(value: Any, limit: int = 90) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parliament() -> types.ModuleType:
    """Import parliament, and load its community-auditor settings once.

    parliament 1.6.4 imports ``pkg_resources`` only for ``resource_filename``; setuptools
    81+ no longer ships it. When it is missing, a one-function stand-in is registered while
    parliament is imported, and removed again.
    """
    if "parliament" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            sys.modules["pkg_resources"] = _pkg_resources_stand_in()
            try:
                import parliament
            finally:  # nobody else should mistake the stand-in for the real thing
                del sys.modules["pkg_resources"]
    import parliament

    if not getattr(parliament, "_labkit_configured", False):
        override = os.path.join(os.path.dirname(parliament.__file__), "community_auditors",
                                "config_override.yaml")
        parliament.override_config(override)
        parliament._labkit_configured = True  # type: ignore[attr-defined]
    return parliament


def _pkg_resources_stand_in() -> types.ModuleType:
    module = types.ModuleType("pkg_resources")

    def resource_filename(package: str, name: str) -> str:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise LabKitError(f"Package {package!r} not found.", "pip install -r requirements.txt")
        return os.path.join(os.path.dirname(spec.origin), name)

    module.resource_filename = resource_filename  # type: ignore[attr-defined]
    module.__doc__ = "labkit stand-in: only resource_filename (for parliament)."
    return module


# --------------------------------------------------------------------------- diagram


def plot_cross_account(
    company_account: str,
    partner_account: str,
    role_name: str,
    bucket: str,
    partner_arn: str,
) -> Any:
    """Draw the two accounts, the two policies on the role and the three calls."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 4.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.6)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, color: str, size: int = 9,
            weight: str = "normal") -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color,
                                    ec="0.3", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size,
                weight=weight, wrap=True)

    same = company_account == partner_account
    box(0.1, 0.2, 3.6, 4.2, "", "#eef4fb")
    ax.text(1.9, 4.15, f"ML startup account\n{partner_account}" + (" (simulated)" if same else ""),
            ha="center", va="top", fontsize=10, weight="bold")
    box(0.4, 2.0, 3.0, 1.6, f"{partner_arn.split(':', 5)[-1]}\n\nidentity policy:\n"
        "sts:AssumeRole on the role", "white", 8)
    box(5.0, 0.2, 4.9, 4.2, "", "#fbf3e8")
    ax.text(7.45, 4.15, f"Company account\n{company_account}", ha="center", va="top",
            fontsize=10, weight="bold")
    box(5.3, 1.55, 2.5, 1.35, f"role {role_name}\ntrust policy: WHO may assume\n"
        "(startup account + ExternalId)\npermission policy: WHAT it may do\n"
        "(list + read one bucket)", "white", 7)
    box(7.7, 3.05, 2.0, 0.6, f"S3 bucket\n{bucket}", "white", 7)
    box(5.3, 0.4, 2.5, 0.75, "STS\n(issues temporary credentials)", "white", 8)

    def arrow(p: tuple[float, float], q: tuple[float, float], label: str,
              at: tuple[float, float]) -> None:
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=14, lw=1.4,
                                     color="#1f5a99"))
        ax.text(at[0], at[1], label, ha="center", va="center", fontsize=8, color="#1f5a99")

    arrow((3.4, 2.25), (5.3, 0.95), "1 AssumeRole\n(RoleArn, ExternalId)", (4.35, 2.6))
    arrow((5.3, 0.6), (3.0, 1.95), "2 temporary credentials\n(key, secret, token,\nExpiration)",
          (3.75, 0.75))
    arrow((3.4, 3.35), (7.7, 3.35), "3 ListBucket / GetObject as the role", (5.55, 3.55))
    fig.tight_layout()
    return fig


def _check_account_id(account_id: str) -> None:
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise LabKitError(f"{account_id!r} is not an AWS account id.", "use 12 digits.")
