"""A fake AWS for fast unit tests: real boto3 clients, answers typed by hand.

Every call goes through botocore as usual (so the request is validated against the
service's model: a misspelt parameter or a missing required one fails here as it would on
AWS), and a ``before-call`` handler answers it from :attr:`FakeAWS.answers` instead of the
network. Answers are written by hand in the shapes of the AWS API references; an operation
with no answer fails with the error code ``NotFaked`` (so a test notices an unexpected call).
Every call is recorded in order as ``(service, Operation, params)``.

One botocore session is shared by all tests (loading the service models once); each test
installs its own :class:`FakeAWS` as the current one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from labkit.backend import Backend
from labkit.session import Lab

Answer = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | Exception

_SESSION: boto3.Session | None = None
_current: FakeAWS | None = None


class AWSError(Exception):
    """An answer that makes botocore raise ClientError with this code and message."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def _remember(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    members = model.input_shape.members if model.input_shape is not None else {}
    context["fake_params"] = {  # without the idempotency tokens botocore makes up
        k: copy.deepcopy(v) for k, v in params.items()
        if not (k in members and members[k].metadata.get("idempotencyToken"))
        and not (k == "EncodingType" and model.service_model.service_name == "s3")}


def _answer(model: Any, context: dict[str, Any], **_: Any) -> Any:
    assert _current is not None, "no FakeAWS installed"
    return _current.respond(model.service_model.service_name, model.name,
                            context.get("fake_params", {}))


def session() -> boto3.Session:
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.Session(aws_access_key_id="testing",
                                 aws_secret_access_key="testing",  # noqa: S106
                                 aws_session_token="testing", region_name="us-east-1")
        _SESSION._session.register("before-parameter-build", _remember)
        _SESSION._session.register("before-call", _answer)
    return _SESSION


class FakeAWS:
    def __init__(self, answers: dict[tuple[str, str], Answer] | None = None) -> None:
        self.answers: dict[tuple[str, str], Answer] = dict(answers or {})
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def install(self) -> FakeAWS:
        global _current
        _current = self
        return self

    def respond(self, service: str, operation: str, params: dict[str, Any]) -> Any:
        self.calls.append((service, operation, params))
        answer = self.answers.get((service, operation))
        if answer is None:
            answer = AWSError("NotFaked", f"{service}.{operation} has no answer")
        if callable(answer) and not isinstance(answer, Exception):
            try:
                answer = answer(params)
            except AWSError as exc:
                answer = exc
        if isinstance(answer, AWSError):
            parsed = {"Error": {"Code": answer.code, "Message": answer.message},
                      "ResponseMetadata": {"HTTPStatusCode": answer.status}}
            return AWSResponse("https://fake.invalid", answer.status, {}, None), parsed
        parsed = copy.deepcopy(answer)
        parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": 200})
        return AWSResponse("https://fake.invalid", 200, {}, None), parsed

    def ops(self, *, service: str | None = None, prefix: str = "") -> list[str]:
        """The operations called, in order (optionally one service's, or a name prefix)."""
        return [op for s, op, _ in self.calls
                if (service is None or s == service) and op.startswith(prefix)]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for _, op, p in self.calls if op == operation]


_CLIENTS: dict[tuple[str, str], Any] = {}


class FakeLab(Lab):
    """A Lab whose clients are made once per service and region (making one takes ~50 ms)."""

    def client(self, service: str, **kwargs: Any) -> Any:
        self._check_open()
        key = (service, self.region)
        if key not in _CLIENTS or kwargs:
            _CLIENTS[key] = self.boto_session.client(service, region_name=self.region,
                                                     **kwargs)
        return _CLIENTS[key]


def fake_lab(tmp: Path, *, local: bool = True, region: str = "us-east-1",
             account: str = "123456789012", name: str = "98-unit-test",
             learner: str = "local") -> Lab:
    """A Lab object on the shared fake session (no moto, no guard, nothing started)."""
    return FakeLab(name=name, backend=Backend.LOCAL if local else Backend.AWS, region=region,
               boto_session=session(), account_id=account, workdir=tmp,
                   learner=learner)
