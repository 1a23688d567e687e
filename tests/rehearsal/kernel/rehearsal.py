"""The AWS rehearsal, offline: a lab's ``aws`` branch run against a moto server.

A lab on ``COURSE_BACKEND=aws`` is run in a fresh kernel whose only AWS endpoint is a moto
server on 127.0.0.1 (boto3 honours ``AWS_ENDPOINT_URL``), in a 14-character region, as an
IAM user whose only permissions are ``policies/course-learner.json``, with IAM enforced by
the server, with a fresh learner token, twice in a row. What it proves and what it cannot is
written in ``instructor/real-accounts.md``; ``tests/rehearsal/test_rehearsal.py`` runs it.

- :class:`RehearsalServer` starts moto's server in this process (so :mod:`labkit.inventory`
  sees the server's state), resets it for each lab, creates the learner as an IAM user with
  the course policy attached, and then turns on moto's IAM enforcement
  (``POST /moto-api/reset-auth`` with ``0``: every later request is authenticated and
  checked against the caller's identity policies).
- :func:`kernel_env` is the environment of the lab's kernel: the ``aws`` backend, the
  server as the only endpoint, the learner's keys, nothing from the machine's AWS set-up.
- :func:`install_kernel_hooks` (called in the kernel by ``tests/rehearsal/kernel``'s
  ``sitecustomize``) refuses any connection that would leave this machine and validates
  every AWS request against botocore's model (:func:`labkit.requests.request_problems`),
  writing each request to a log the test reads.
- :data:`PLAN` says, per lab, where the rehearsal stops and why (SageMaker compute cannot
  run on moto), or why it does not run the lab at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import socket
import string
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.paths import REPO_ROOT

REGION = "ap-southeast-2"
"""A 14-character region: the longest names of commercial regions have 14 characters."""

ACCOUNT_ID = "123456789012"
"""The account the server puts the learner in (moto's default account)."""

LEARNER_USER = "rehearsal-learner"
"""The IAM user the lab runs as (made by the 'administrator', not by a lab)."""

EXECUTION_ROLE = "mlecourse-sagemaker-execution"
"""The SageMaker execution role the administrator makes; ``COURSE_SAGEMAKER_ROLE_ARN``."""

POLICY_FILE = REPO_ROOT / "policies" / "course-learner.json"

EXECUTION_ROLE_TYPES = ("training", "serving", "pipeline", "feature_store")
"""The SDK's role types the labs use the execution role for."""


def execution_role_policies() -> dict[str, Any]:
    """The execution role's policies: what the SageMaker SDK itself says a role of each type
    in :data:`EXECUTION_ROLE_TYPES` needs (``sagemaker.core.helper.iam_policies``), so its
    role validation (``iam:SimulatePrincipalPolicy``) answers as for a well-made role."""
    from sagemaker.core.helper.iam_policies import IAM_POLICY_CONFIG
    from sagemaker.core.helper.iam_role_resolver import _replace_placeholders

    policies: dict[str, Any] = {}
    for kind in EXECUTION_ROLE_TYPES:  # the SDK's own rendering: course buckets, any key
        rendered = _replace_placeholders(IAM_POLICY_CONFIG[kind]["policies"],
                                         s3_resource="mlecourse-*", kms_resource="*",
                                         account_id=ACCOUNT_ID)
        policies.update({f"{kind}-{name}"[:128]: doc for name, doc in rendered.items()})
    return policies

REQUEST_LOG_ENV = "REHEARSAL_REQUEST_LOG"
ENDPOINT_ENV = "REHEARSAL_ENDPOINT"
POLICY_ENV = "REHEARSAL_POLICY"
NO_DOCKER = "unix:///nonexistent/rehearsal-has-no-docker.sock"
"""``DOCKER_HOST`` in the lab's kernel: no Docker (as in Studio), and no Docker engine that
could reach a registry on the lab's behalf."""


@dataclass(frozen=True)
class Stop:
    """Where a lab's rehearsal stops: before the code cell with ``cell_id`` (then the lab's
    clean-up cell runs), or nowhere (``cell_id=None``: the lab runs fully)."""

    cell_id: str | None
    reason: str = ""
    skip: bool = False
    """True: the lab is not rehearsed at all (``reason`` says why)."""
    expected_denials: frozenset[str] = frozenset()
    """``service.Operation`` the lab is refused on purpose as the learner (its lesson)."""
    known_failure: str = ""
    """A failure the rehearsal found that is not fixed yet: the test expects it (xfail); an
    XPASS says it is fixed and the entry should go."""


PLAN: dict[str, Stop] = {}
"""Lab name -> :class:`Stop`; a lab not listed runs fully. Filled in below the helpers."""


# ---------------------------------------------------------------- the server
@dataclass
class Learner:
    """The learner's credentials and token for one rehearsal of one lab."""

    access_key_id: str
    secret_access_key: str
    token: str


@dataclass
class RehearsalServer:
    """moto's server on 127.0.0.1, in this process, with IAM enforcement on demand."""

    url: str = ""
    policy: dict[str, Any] = field(default_factory=dict)
    """The learner's policy since the last :meth:`reset`."""
    _server: Any = field(default=None, repr=False)

    @classmethod
    def start(cls) -> RehearsalServer:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _patch_moto_iam_resources()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        return cls(url=f"http://127.0.0.1:{port}", _server=server)

    def stop(self) -> None:
        self.set_auth(None)
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _post(self, path: str, body: bytes) -> Any:
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return json.loads(response.read() or b"{}")

    def set_auth(self, enforced: bool | None) -> None:
        """Enforce IAM on every later request (``True``) or on none (``False``/``None``)."""
        if self._server is None:
            return
        self._post("/moto-api/reset-auth", b"0" if enforced else b"inf")

    def admin_client(self, service: str) -> Any:
        """A client as the account's administrator (only while IAM is not enforced)."""
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def reset(self, policy: dict[str, Any] | None = None) -> Learner:
        """Empty the server, make the learner (course policy only) and the execution role,
        then enforce IAM. Returns the learner's keys and a fresh 6-character token."""
        self.set_auth(False)
        self._post("/moto-api/reset", b"")
        self._post("/moto-api/config", json.dumps(
            {"stepfunctions": {"execute_state_machine": True}}).encode())
        iam = self.admin_client("iam")
        document = policy if policy is not None else json.loads(POLICY_FILE.read_text())
        self.policy = document
        arn = iam.create_policy(PolicyName="course-learner",
                                PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.create_user(UserName=LEARNER_USER)
        iam.attach_user_policy(UserName=LEARNER_USER, PolicyArn=arn)
        key = iam.create_access_key(UserName=LEARNER_USER)["AccessKey"]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName=EXECUTION_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        for name, document in execution_role_policies().items():
            iam.put_role_policy(RoleName=EXECUTION_ROLE, PolicyName=name,
                                PolicyDocument=json.dumps(document))
        self.set_auth(True)
        return Learner(key["AccessKeyId"], key["SecretAccessKey"], new_token())


def new_token() -> str:
    """A fresh learner token: six lower-case letters and digits, starting with a letter."""
    alphabet = string.ascii_lowercase + string.digits
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(alphabet) for _ in range(5))


def _patch_moto_iam_resources() -> None:
    """Make moto check IAM writes against the resource they name, as IAM does.

    moto 5.2.5 evaluates an IAM request against the role's ARN only when the role already
    exists, and against ``*`` otherwise (``IAMResponse._determine_resource``), so a policy
    that allows ``iam:CreateRole`` on ``role/mlecourse-*`` is refused by moto and allowed by
    AWS. IAM's own rule: the resource of ``CreateRole`` is the role being created (service
    authorization reference for IAM, resource types per action).
    """
    from moto.iam.responses import IamResponse as IAMResponse

    if getattr(IAMResponse, "_rehearsal_patched", False):
        return

    def determine(self: Any) -> str:
        data = self.data
        account = self.current_account
        for param, kind in (("RoleName", "role"), ("UserName", "user"),
                            ("InstanceProfileName", "instance-profile"),
                            ("GroupName", "group")):
            if param in data:
                return f"arn:aws:iam::{account}:{kind}/{data[param][0]}"
        for param in ("PolicyArn", "PolicySourceArn", "OpenIDConnectProviderArn",
                      "SAMLProviderArn"):
            if param in data:
                return str(data[param][0])
        if "PolicyName" in data and self._get_action() == "CreatePolicy":
            return f"arn:aws:iam::{account}:policy/{data['PolicyName'][0]}"
        return "*"

    IAMResponse._determine_resource = determine  # type: ignore[method-assign]
    IAMResponse._rehearsal_patched = True  # type: ignore[attr-defined]
    _patch_moto_account_principal()
    _patch_moto_s3_actions()
    _patch_moto_absent_condition_keys()
    _patch_moto_session_duration()
    _patch_moto_action_prefixes()
    _add_moto_operations()
    _cache_moto_module_list()


def _cache_moto_module_list() -> None:
    """Read moto's list of services once, not on every request.

    moto 5.2.5's server looks a request's host up in ``backends.list_of_moto_modules()``,
    which lists moto's package folder and stats every entry, for every request: a fifth of
    the server's samples in the rehearsal (py-spy, lab 08: 150 of 780), and the stats contend
    with every other request thread: kept, lab 08's rehearsal went from 54 s to 34 s. The
    folder does not change while the server runs.
    """
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


def _add_moto_operations() -> None:
    """Operations moto 5.2.5's server lacks, added so that a lab's ``aws`` branch can call
    them as on AWS (each clearly a stand-in: the rehearsal's, not moto's):

    - IAM ``SimulatePrincipalPolicy`` (the SDK asks whether the execution role may write to
      its staging bucket): the role's identity policies, evaluated by moto's evaluator;

    - EventBridge ``TestEventPattern`` (moto's is an empty stub: no ``Result``): answered
      with moto's own pattern engine, the one the ``local`` backend uses;
    - SageMaker ``DeleteFeatureGroup`` (moto answers HTTP 500);
    - SageMaker ``DeleteModelPackage`` and ``DeleteModelPackageGroup`` (a group that still
      has versions is refused with ``ConflictException``, as SageMaker documents:
      https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteModelPackageGroup.html).
    """
    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler
    from moto.iam.responses import IamResponse as IAMResponse
    from moto.sagemaker.exceptions import ConflictException
    from moto.sagemaker.responses import SageMakerResponse

    def test_event_pattern(self: Any) -> str:
        raw = str(self._get_param("EventPattern"))
        engine = EventPattern(raw, json.loads(raw))
        event = json.loads(str(self._get_param("Event")))
        return json.dumps({"Result": bool(engine.matches_event(event))})

    def delete_model_package(self: Any) -> str:
        backend = self.sagemaker_backend
        name = str(self._get_param("ModelPackageName"))
        name = backend.model_package_name_mapping.get(name, name)
        backend.model_packages.pop(name, None)
        for alias in [k for k, v in backend.model_package_name_mapping.items() if v == name]:
            del backend.model_package_name_mapping[alias]
        return "{}"

    def delete_model_package_group(self: Any) -> str:
        backend = self.sagemaker_backend
        group = str(self._get_param("ModelPackageGroupName"))
        if any(p.model_package_group_name == group for p in backend.model_packages.values()):
            raise ConflictException(f"Model package group {group} is not empty.")
        backend.model_package_groups.pop(group, None)
        return "{}"

    def simulate_principal_policy(self: Any) -> Any:
        # the role's own policies, evaluated by moto's evaluator (identity policies only)
        from moto.core.responses import ActionResult
        from moto.iam.access_control import IAMPolicy, PermissionResult

        role = self.backend.get_role_by_arn(str(self._get_param("PolicySourceArn")))
        policies = [*role.policies.values(), *role.managed_policies.values()]
        results = []
        for action in self._get_param("ActionNames") or []:
            for resource in self._get_param("ResourceArns") or ["*"]:
                verdicts = [IAMPolicy(p).is_action_permitted(action, resource)
                            for p in policies]
                decision = ("explicitDeny" if PermissionResult.DENIED in verdicts else
                            "allowed" if PermissionResult.PERMITTED in verdicts else
                            "implicitDeny")
                results.append({"EvalActionName": action, "EvalResourceName": resource,
                                "EvalDecision": decision})
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    def delete_feature_group(self: Any) -> str:
        backend = self.sagemaker_backend
        name = str(self._get_param("FeatureGroupName"))
        for arn in [a for a, g in backend.feature_groups.items()
                    if name in (a, g.feature_group_name)]:
            del backend.feature_groups[arn]
        return "{}"

    IAMResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
    SageMakerResponse.delete_feature_group = delete_feature_group  # type: ignore[attr-defined]
    EventsHandler.test_event_pattern = test_event_pattern  # type: ignore[method-assign,assignment]
    SageMakerResponse.delete_model_package = delete_model_package  # type: ignore[attr-defined]
    SageMakerResponse.delete_model_package_group = (  # type: ignore[attr-defined]
        delete_model_package_group)


IAM_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch", "tagging": "tag"}
"""moto names an action by the request's signing name; IAM's prefix differs for these
(CloudWatch signs as ``monitoring`` but its actions are ``cloudwatch:*``:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html)."""


def _patch_moto_action_prefixes() -> None:
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        prefix, _, name = self._action.partition(":")
        if prefix in IAM_PREFIX_OF_SIGNING_NAME:
            self._action = f"{IAM_PREFIX_OF_SIGNING_NAME[prefix]}:{name}"

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def _patch_moto_session_duration() -> None:
    """AssumeRole refuses a ``DurationSeconds`` above the role's ``MaxSessionDuration`` with
    a ValidationError, as STS does; moto 5.2.5 grants it
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)."""
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSValidationError
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role

    def assume_role(self: Any, region_name: str, role_session_name: str, role_arn: str,
                    policy: str, duration: int, external_id: str) -> Any:
        parts = role_arn.split(":")
        if len(parts) >= 6 and parts[5].startswith("role/"):
            longest = None
            with contextlib.suppress(Exception):  # a role that does not exist: moto's way
                role = iam_backends[parts[4]]["aws"].get_role_by_arn(role_arn)
                longest = int(role.max_session_duration or 3600)
            if longest is not None and duration > longest:
                raise STSValidationError(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                    "this role.")
        return original(self, region_name, role_session_name, role_arn, policy,
                        duration, external_id)

    STSBackend.assume_role = assume_role  # type: ignore[method-assign]


def _patch_moto_absent_condition_keys() -> None:
    """A condition on a key the request does not carry is false, as in IAM; moto 5.2.5
    treats it as true (so a trust policy's ``sts:ExternalId`` or MFA condition let a call
    without the key through). IAM: "If the key that you specify in a policy condition is not
    present in the request context, the values do not match" (except ``...IfExists`` and
    ``Null``), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    """
    from moto.iam.policy_conditions import TrustCondition

    original = TrustCondition.verify_condition

    def verify(self: Any, actual_values: list[str]) -> bool:
        operator = str(self._condition)
        if (len(actual_values) < len(self.context_keys)
                and not operator.endswith("IfExists") and operator != "Null"):
            return False
        return bool(original(self, actual_values))

    TrustCondition.verify_condition = verify  # type: ignore[method-assign]


S3_ACTIONS_AS_IAM_NAMES = {("BUCKET", "HEAD"): "ListBucket"}
"""moto's S3 operation names that IAM authorises under another action: ``HeadBucket`` needs
``s3:ListBucket`` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html);
moto 5.2.5 checks an action ``s3:HeadBucket`` that IAM does not have."""


def _patch_moto_s3_actions() -> None:
    from moto.s3 import responses

    for (kind, method), action in S3_ACTIONS_AS_IAM_NAMES.items():
        responses.ACTION_MAP[kind][method]["DEFAULT"] = action


def _patch_moto_account_principal() -> None:
    """Let a trust policy's account principal (``arn:aws:iam::<account>:root``) trust every
    identity of that account, as IAM does; moto 5.2.5 compares the ARNs literally.

    IAM: "When you specify an account principal, you delegate to that account's
    administrators" who grant it with identity policies
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts).
    The identity-policy half is already enforced by the server.
    """
    from moto.iam.access_control import IAMPolicyStatement

    original = IAMPolicyStatement._check_principal

    def check(self: Any, principal: str) -> bool:
        expected = (self._statement.get("Principal") or {}).get("AWS")
        accounts = [expected] if isinstance(expected, str) else list(expected or [])
        caller = principal.split(":")[4] if principal.count(":") >= 5 else ""
        for item in accounts:
            if item in (caller, f"arn:aws:iam::{caller}:root"):
                return True
        return bool(original(self, principal))

    IAMPolicyStatement._check_principal = check  # type: ignore[method-assign]


# ---------------------------------------------------------------- the kernel
_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
         "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
         "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "COURSE_ENDPOINT_NAME",
         "SAGEMAKER_VALIDATE_ROLE")


def kernel_env(server: RehearsalServer, learner: Learner, workdir: Path,
               hooks_dir: Path, audit_log: Path, request_log: Path) -> dict[str, str]:
    """The lab kernel's environment: ``aws`` backend, the server as its only endpoint."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP
           and not k.startswith(("AWS_ENDPOINT_URL", "COURSE_"))}
    env.update({
        "COURSE_BACKEND": "aws",
        "COURSE_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": server.url,
        "AWS_ACCESS_KEY_ID": learner.access_key_id,
        "AWS_SECRET_ACCESS_KEY": learner.secret_access_key,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "COURSE_LEARNER": learner.token,
        "DOCKER_HOST": NO_DOCKER,
        # botocore gzips PutMetricData bodies; moto's signature check reads them unzipped
        # and answers SignatureDoesNotMatch: the kernel sends them uncompressed
        "AWS_DISABLE_REQUEST_COMPRESSION": "true",
        "COURSE_WORKDIR": str(workdir),
        "COURSE_SAGEMAKER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT_ID}:role/{EXECUTION_ROLE}",
        "NETWORK_AUDIT_LOG": str(audit_log),
        REQUEST_LOG_ENV: str(request_log),
        POLICY_ENV: str(_write_policy(server.policy, request_log.parent)),
        # the SDK's telemetry GETs https://sm-pysdk-t-<region>.s3.<region>.amazonaws.com
        # with plain requests (no endpoint override): opted out, as its message says
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(_write_sdk_config(request_log.parent)),
        ENDPOINT_ENV: server.url,
        **course_images(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hooks_dir),
                                                     os.environ.get("PYTHONPATH")])),
    })
    return env


def _write_policy(policy: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "learner-policy.json"
    path.write_text(json.dumps(policy), encoding="utf-8")
    return path


def _write_sdk_config(folder: Path) -> Path:
    """The SageMaker SDK's defaults file with ``TelemetryOptOut: true``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sagemaker-config.yaml"
    path.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
                    "      TelemetryOptOut: true\n", encoding="utf-8")
    return path


def course_images() -> dict[str, str]:
    """``COURSE_IMAGE_<NAME>`` for every course image: as in Studio, where the instructor has
    pushed the images to ECR and the labs build nothing (``course_image`` in lab 06)."""
    from labkit.paths import CONTAINERS_DIR

    registry = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"
    return {"COURSE_IMAGE_" + d.name.upper().replace("-", "_"):
            f"{registry}/mlecourse-{d.name}:course"
            for d in sorted(CONTAINERS_DIR.iterdir()) if (d / "Dockerfile").exists()}


def is_on_this_machine(host: object) -> bool:
    """Loopback addresses and ``localhost`` are on this machine; nothing else is."""
    text = host.decode() if isinstance(host, bytes) else str(host or "")
    if text in ("", "localhost", "None"):
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse_off_machine(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: abort a connection or name lookup that would leave this machine."""
    if event == "socket.getaddrinfo":
        host = args[0]
        host = host.decode() if isinstance(host, bytes) else host
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if not isinstance(address, tuple):
            return  # a Unix socket
        host = address[0]
    else:
        return
    if not is_on_this_machine(host):
        raise ConnectionRefusedError(
            f"rehearsal: refused {event} to {host!r}: the moto server is the only endpoint")


ROLE_KEYS = ("RoleArn", "roleArn", "ExecutionRoleArn", "RoleARN")
"""Request members that hand a role to a service (which then needs ``iam:PassRole``)."""

SERVICE_PRINCIPALS = {"sagemaker": "sagemaker.amazonaws.com",
                      "stepfunctions": "states.amazonaws.com",
                      "events": "events.amazonaws.com",
                      "scheduler": "scheduler.amazonaws.com",
                      "cloudformation": "cloudformation.amazonaws.com"}


def passed_roles(value: Any) -> list[str]:
    """Every role ARN found under a :data:`ROLE_KEYS` member of a request."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ROLE_KEYS and isinstance(item, str) and ":role/" in item:
                found.append(item)
            else:
                found += passed_roles(item)
    elif isinstance(value, list):
        for item in value:
            found += passed_roles(item)
    return found


def _matches(pattern: str, value: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def may_pass_role(policy: dict[str, Any], role_arn: str, service: str) -> bool:
    """Whether ``policy`` allows ``iam:PassRole`` of ``role_arn`` to ``service`` (an Allow
    whose action, resource and ``iam:PassedToService`` condition match; no Deny).

    moto never checks ``iam:PassRole`` (IAM checks it when a service is handed a role:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html), so the
    rehearsal checks it on the request, against the learner's policy."""
    allowed = False
    statements = policy["Statement"]
    for stmt in [statements] if isinstance(statements, dict) else statements:
        actions = stmt.get("Action", [])
        resources = stmt.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_matches(a, "iam:PassRole") for a in actions):
            continue
        if not any(_matches(r, role_arn) for r in resources):
            continue
        condition = stmt.get("Condition", {})
        ok = True
        for operator, pairs in condition.items():
            for key, expected in pairs.items():
                values = [expected] if isinstance(expected, str) else list(expected)
                if key.lower() != "iam:passedtoservice" or not operator.startswith("String"):
                    ok = False  # a condition this check cannot evaluate: not granted
                elif not any(_matches(v, service) if "Like" in operator else v == service
                             for v in values):
                    ok = False
        if ok and stmt.get("Effect") == "Deny":
            return False
        allowed = allowed or (ok and stmt.get("Effect") == "Allow")
    return allowed


def install_kernel_hooks() -> None:
    """In the lab's kernel: refuse the network beyond this machine, log and validate every
    AWS request (service, operation, endpoint, problems against botocore's model)."""
    sys.addaudithook(_refuse_off_machine)
    log = os.environ.get(REQUEST_LOG_ENV, "")
    if not log:
        return
    import threading

    import botocore.client

    from labkit.requests import request_problems

    original = botocore.client.BaseClient._make_api_call
    original_emit = botocore.client.BaseClient._emit_api_params
    state = threading.local()

    def emit(self: Any, api_params: Any, operation_model: Any, context: Any) -> Any:
        # validated as sent: after botocore's own handlers (EC2's Filter/Filters alias …)
        params = original_emit(self, api_params, operation_model, context)
        try:
            state.problems = request_problems(self.meta.service_model.service_name,
                                              operation_model.name, params)
        except Exception as exc:  # noqa: BLE001 - a model botocore lacks is a finding too
            state.problems = [f"not validated: {exc}"]
        return params

    def logged(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        credentials = getattr(self._request_signer, "_credentials", None)
        key = getattr(credentials, "access_key", None)
        entry: dict[str, Any] = {"service": self.meta.service_model.service_name,
                                 "operation": operation_name,
                                 "learner": key == os.environ.get("AWS_ACCESS_KEY_ID"),
                                 "endpoint": self.meta.endpoint_url,
                                 "region": self.meta.region_name, "problems": []}
        state.problems = []
        principal = SERVICE_PRINCIPALS.get(entry["service"])
        policy_file = os.environ.get(POLICY_ENV, "")
        if principal and policy_file and entry["learner"]:
            policy = json.loads(Path(policy_file).read_text(encoding="utf-8"))
            refused = [arn for arn in passed_roles(api_params)
                       if not may_pass_role(policy, arn, principal)]
            if refused:  # IAM would refuse the request before the service acts on it
                entry["error"] = (f"AccessDenied: iam:PassRole of {refused} to {principal} "
                                  "is not allowed by the learner's policy (checked by the "
                                  "rehearsal: moto does not check iam:PassRole)")
                with open(log, "a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")
                raise PermissionError(entry["error"])
        try:
            return original(self, operation_name, api_params)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
            if type(exc).__name__ == "ParamValidationError":
                state.problems = []  # refused by the SDK: never sent
            raise
        finally:
            entry["problems"] = list(getattr(state, "problems", []) or [])
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    botocore.client.BaseClient._emit_api_params = emit  # type: ignore[method-assign]
    botocore.client.BaseClient._make_api_call = logged  # type: ignore[method-assign]


def read_log(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a log (an absent log is empty)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def code_cells(notebook: Any) -> list[Any]:
    """The notebook's code cells, in order."""
    return [c for c in notebook.cells if c.cell_type == "code"]


def cells_to_run(notebook: Any, stop: Stop) -> tuple[list[Any], Any]:
    """The code cells a rehearsal runs, and the clean-up cell it always runs last."""
    cells = code_cells(notebook)
    cleanup = cells[-1]
    if "lab.cleanup()" not in cleanup.source:
        raise ValueError("the lab's last code cell is not its clean-up cell")
    body = cells[:-1]
    if stop.cell_id is not None:
        ids = [c.get("id") for c in body]
        if stop.cell_id not in ids:
            raise ValueError(f"the stop cell {stop.cell_id!r} is not in the notebook")
        body = body[:ids.index(stop.cell_id)]
        # the lab's own clean-up cell may check what the skipped cells made (lab 06's
        # containers): a stopped lab ends with the clean-up every lab starts its cell with
        import nbformat

        cleanup = nbformat.v4.new_code_cell(CLEANUP_CELL)
    return body, cleanup


CLEANUP_CELL = "problems = lab.cleanup()\nassert not problems, problems\n"
"""The clean-up cell every lab ends with (AUTHORING.md), run after a rehearsal's stop."""


# ---------------------------------------------------------------- one lab, twice
@dataclass
class Rehearsal:
    """What one lab's rehearsal did: cells run per run, the first error, the requests, the
    connections, and what the server held after each run's clean-up."""

    lab: str
    stop: Stop
    cells_per_run: list[int] = field(default_factory=list)
    cell_seconds: list[float] = field(default_factory=list)
    error: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def invalid_requests(self) -> list[str]:
        """Requests botocore's model rejects that the server accepted: AWS would refuse
        them (a lab that sends an invalid request on purpose gets moto's error too)."""
        return [f"{r['service']}.{r['operation']}: {p}" for r in self.requests
                if not r.get("error") for p in r["problems"]]

    @property
    def denied(self) -> list[str]:
        """Requests the learner (not a role the lab assumed) was refused."""
        return sorted({f"{r['service']}.{r['operation']}: {r['error']}" for r in self.requests
                       if r.get("learner")
                       and f"{r['service']}.{r['operation']}" not in self.stop.expected_denials
                       and ("AccessDenied" in r.get("error", "")
                                                or "not authorized" in r.get("error", ""))})

    @property
    def off_machine(self) -> list[dict[str, Any]]:
        # a target that is a string is a Unix socket's path (on this machine)
        return [c for c in self.connections if isinstance(c.get("target"), list)
                and c["target"] and not is_on_this_machine(c["target"][0])]

    @property
    def other_endpoints(self) -> list[str]:
        endpoint = os.environ.get(ENDPOINT_ENV, "")
        return sorted({str(r["endpoint"]) for r in self.requests
                       if endpoint and r["endpoint"] != endpoint})


CLEANUP_IF_OPEN = (
    "import labkit.session as _s\n"
    "_lab = _s.active_lab()\n"
    "_problems = _lab.cleanup(verbose=False) if _lab is not None else []\n"
)
"""Run after a failed cell, so the server is left as the lab's own clean-up leaves it."""


def rehearse(notebook_path: Path, server: RehearsalServer, workdir: Path,
             hooks_dir: Path, runs: int = 2, timeout: int = 300) -> Rehearsal:
    """Run ``notebook_path``'s cells (to its :data:`PLAN` stop, then its clean-up cell)
    ``runs`` times in one kernel on ``server``; list what the server holds after each run."""
    import time

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from labkit.inventory import leftovers, snapshot

    lab = notebook_path.stem
    stop = PLAN.get(lab, Stop(None))
    result = Rehearsal(lab=lab, stop=stop)
    if stop.skip:
        return result
    started = time.perf_counter()
    notebook = nbformat.read(notebook_path, as_version=4)
    body, cleanup = cells_to_run(notebook, stop)
    learner = server.reset()
    state = snapshot()
    audit, requests_log = workdir / "network.jsonl", workdir / "requests.jsonl"
    env = kernel_env(server, learner, workdir / "work", hooks_dir, audit, requests_log)
    os.environ[ENDPOINT_ENV] = server.url
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook_path.parent)}})
    try:
        with client.setup_kernel(env=env, cwd=str(notebook_path.parent)):
            for run in range(1, runs + 1):
                count = 0
                try:
                    for cell in [*body, cleanup]:
                        begun = time.perf_counter()
                        index = notebook.cells.index(cell) if cell in notebook.cells else 0
                        client.execute_cell(cell, index)
                        result.cell_seconds.append(time.perf_counter() - begun)
                        count += 1
                except CellExecutionError as exc:
                    name = f"run {run} · code cell {count + 1} ({cell.get('id')})"
                    result.error = f"{name}: {_last_lines(str(exc))}"
                    rescue = nbformat.v4.new_code_cell(CLEANUP_IF_OPEN)
                    try:
                        client.execute_cell(rescue, 0)
                    except CellExecutionError:
                        pass
                finally:
                    result.cells_per_run.append(count)
                    result.leftovers.append(leftovers(state, account=ACCOUNT_ID))
                if result.error:
                    break
    finally:
        server.set_auth(False)
        os.environ.pop(ENDPOINT_ENV, None)
        result.seconds = time.perf_counter() - started
        result.requests = read_log(requests_log)
        result.connections = read_log(audit)
    return result


def _last_lines(text: str, keep: int = 12) -> str:
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = [ln for ln in plain.splitlines() if ln.strip()]
    return "\n".join(lines[-keep:])


COMPUTE = "SageMaker compute cannot run on moto (its jobs are records, Completed at once)"

PLAN.update({
    # the startup is the learner itself on aws; three AssumeRole calls are refused on
    # purpose (wrong ExternalId, none, no MFA): the trust policy's lesson
    "01-iam-cross-account": Stop(None, expected_denials=frozenset({"sts.AssumeRole"})),
    "03-step-functions": Stop("f8d48a96", f"{COMPUTE}: the state machine's Task states "
                              "start a training job and wait for its metric"),
    "15-tensorboard-debugging": Stop("a3398d4e", f"{COMPUTE}: the next cells read the "
                                     "TensorBoard files the training job syncs to S3"),
    "16b-clarify-dpl-bias": Stop("3ae84548", f"{COMPUTE}: the next cells read the "
                                 "Clarify processing job's analysis.json"),
    "16a-clarify-shap-pdp": Stop("c16a0003", f"{COMPUTE}: the next cells read the "
                                 "Clarify explainability job's analysis.json and out.csv"),
    "17-bedrock-rag": Stop("rag17-19", "Bedrock's model answers (Converse): moto has no "
                           "Converse and no model; the request is validated offline above"),
    "18-comprehend-pii": Stop("594bdeb3", "Comprehend's PII model answers: moto returns "
                              "the same three entities for any text (and only for 'en')"),
    "21-feature-engineering-and-feature-store": Stop(
        "put", "moto's server has no SageMaker Feature Store runtime (PutRecord, GetRecord "
        "answer 404)"),
    "13-processing-jobs": Stop("b8edfb8a", f"{COMPUTE}: the next cells read the "
                               "processing job's outputs from S3"),
    "12a-model-monitor-data-quality": Stop("c12a0003", f"{COMPUTE}: the monitoring "
                                           "processing job's report is read next"),
    "12b-model-monitor-model-quality": Stop("b0000112", f"{COMPUTE}: the model quality "
                                            "baselining job's statistics.json is read next"),
    "20-ingesting-training-data": Stop("land", "moto's Firehose does not read a Kinesis "
                                       "source stream, so nothing lands in S3 to read"),
    "14-pipelines-batch-schedules": Stop("73f80ac7", f"{COMPUTE}: moto's pipelines run no "
                                         "steps (ListPipelineExecutionSteps fails)"),
    "25b-data-parallel-training": Stop("c25b-22", f"{COMPUTE}: the next cells read the "
                                       "training job's model and output archives"),
    "04-vpc-isolation": Stop("43d937b1", "the isolated probe runs in a new network "
                             "namespace, where the rehearsal's own connection hook (not "
                             "the kernel) answers; Studio cannot make namespaces and "
                             "skips the step"),
    "11-experiments": Stop("mlf-uri", "moto's server answers CreateMlflowTrackingServer "
                           "with an internal error (500); a managed MLflow server is "
                           "compute moto does not run"),
    "06-bring-your-own-container-r": Stop("0a461b6c", "builds the R image with Docker and "
                                          "pushes it to ECR: no Docker in the rehearsal "
                                          "(as in Studio) and no registry behind moto's ECR"),
})
