"""A fake AWS for fast unit tests: real boto3 clients, answers typed by hand.

Every call made through a :class:`FakeLab`'s clients is validated against the service's
model by botocore's own validator (a misspelt parameter or a missing required one fails
here as it would on AWS) and answered from :attr:`FakeAWS.answers` instead of the network;
the request is never serialised or sent. Answers are written by hand in the shapes of the
AWS API references; an operation with no answer fails with the error code ``NotFaked`` (so
a test notices an unexpected call). Every call is recorded in order as
``(service, Operation, params)``. Paginators and waiters work on top, as on real clients.

One boto3 session is shared by all tests (loading the service models once), with one client
per service and region; each test installs its own :class:`FakeAWS` as the current one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.validate import validate_parameters

from labkit.backend import Backend
from labkit.session import Lab

Answer = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | Exception

_SESSION: boto3.Session | None = None
_current: FakeAWS | None = None


class AWSError(Exception):
    """An answer that makes the client raise ClientError with this code and message."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def session() -> boto3.Session:
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.Session(aws_access_key_id="testing",
                                 aws_secret_access_key="testing",  # noqa: S106
                                 aws_session_token="testing", region_name="us-east-1")
    return _SESSION


def _fake_call(client: Any) -> Callable[[str, dict[str, Any]], Any]:
    service = client.meta.service_model.service_name

    def make_api_call(operation: str, params: dict[str, Any]) -> Any:
        model = client.meta.service_model.operation_model(operation)
        if model.input_shape is not None:
            # botocore fills idempotency tokens (ClientToken…) itself; so does the fake
            tokens = {name: "00000000-0000-4000-8000-000000000000" for name, shape in
                      model.input_shape.members.items()
                      if shape.metadata.get("idempotencyToken") and name not in params}
            validate_parameters({**params, **tokens}, model.input_shape)
        assert _current is not None, "no FakeAWS installed"
        return _current.respond(client, service, operation, copy.deepcopy(params))
    return make_api_call


class FakeAWS:
    def __init__(self, answers: dict[tuple[str, str], Answer] | None = None) -> None:
        self.answers: dict[tuple[str, str], Answer] = dict(answers or {})
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def install(self) -> FakeAWS:
        global _current
        _current = self
        return self

    def respond(self, client: Any, service: str, operation: str,
                params: dict[str, Any]) -> Any:
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
            raise client.exceptions.from_code(answer.code)(parsed, operation)
        parsed = copy.deepcopy(answer)
        parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": 200})
        return parsed

    def ops(self, *, service: str | None = None, prefix: str = "") -> list[str]:
        """The operations called, in order (optionally one service's, or a name prefix)."""
        return [op for s, op, _ in self.calls
                if (service is None or s == service) and op.startswith(prefix)]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for _, op, p in self.calls if op == operation]


_CLIENTS: dict[tuple[str, str], Any] = {}


class FakeLab(Lab):
    """A Lab whose clients answer from the current :class:`FakeAWS` (one client per service
    and region: making one takes ~50 ms)."""

    def client(self, service: str, **kwargs: Any) -> Any:
        self._check_open()
        key = (service, self.region)
        if key not in _CLIENTS or kwargs:
            client = self.boto_session.client(service, region_name=self.region, **kwargs)
            client._make_api_call = _fake_call(client)
            _CLIENTS[key] = client
        return _CLIENTS[key]


def fake_lab(tmp: Path, *, local: bool = True, region: str = "us-east-1",
             account: str = "123456789012", name: str = "98-unit-test",
             learner: str = "local") -> Lab:
    """A Lab object on the shared fake session (no moto, no guard, nothing started)."""
    return FakeLab(name=name, backend=Backend.LOCAL if local else Backend.AWS, region=region,
               boto_session=session(), account_id=account, workdir=tmp,
                   learner=learner)
