"""AWS requests checked and recorded offline: botocore's own API models as the reference.

Several labs build requests that the `local` backend cannot send (moto lacks the operation,
or the lab must not start a billed job): ``UpdateEndpoint``, Bedrock ``Converse``,
Comprehend PII jobs, tuning jobs. :func:`validate_request` checks such a request against
the same service model boto3 uses — plus the enum and maximum checks that botocore leaves to
the service — so its shape is verified without a network. :class:`RequestRecorder` keeps
the parameters of the calls an SDK makes through a boto3 session, and can block chosen
operations (a dry run on a real account).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import LabKitError


@functools.lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def _input_shape(service: str, operation: str) -> Any:
    import botocore

    try:
        return _service_model(service).operation_model(operation).input_shape
    except Exception as exc:  # UnknownServiceError, OperationNotFoundError
        raise LabKitError(
            f"botocore {botocore.__version__} has no model of {service}.{operation} "
            f"(no operation {operation!r} in {service!r}).",
            "check the spelling: the service as boto3 names it ('bedrock-runtime') and the "
            "operation in PascalCase ('Converse'); or upgrade boto3.",
        ) from exc


def request_problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every problem with ``params`` for ``service.operation``; ``[]`` when it is valid.

    First botocore's client-side validation (required members, unknown members, types,
    minimum lengths and values — what boto3 checks before sending), then what only the
    service would refuse: values outside an ``enum`` and above a documented maximum.
    """
    from botocore.validate import ParamValidator

    shape = _input_shape(service, operation)
    problems: list[str] = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        problems += [ln.strip() for ln in report.generate_report().splitlines() if ln.strip()]
    problems += _service_side_problems(params, shape, "params")
    return problems


def validate_request(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise :class:`~labkit.errors.LabKitError` listing every problem of the request."""
    problems = request_problems(service, operation, params)
    if problems:
        raise LabKitError(
            f"The {service}.{operation} request is invalid:\n  " + "\n  ".join(problems),
            "fix the fields named above; the shapes are in the AWS API reference.",
        )


def _service_side_problems(value: Any, shape: Any, path: str) -> list[str]:
    """Enum and maximum checks that botocore leaves to the service."""
    meta = shape.metadata
    kind = shape.type_name
    problems: list[str] = []
    if meta.get("document"):
        return problems
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problems += _service_side_problems(value[name], member, f"{path}.{name}")
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items, at most {meta['max']} allowed")
        for i, item in enumerate(value):
            problems += _service_side_problems(item, shape.member, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += _service_side_problems(item, shape.value, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {list(shape.enum)}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} characters, at most {meta['max']}")
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} is above the maximum {meta['max']}")
        if isinstance(value, float) and math.isnan(value):
            problems.append(f"{path}: NaN is not a number the service accepts")
    return problems


class RequestBlocked(LabKitError):
    """A recorded request that :class:`RequestRecorder` was told not to send."""

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"{operation} was recorded but not sent (the recorder blocks it).",
            "nothing to fix: the lab shows the request instead of starting real jobs.",
        )
        self.operation = operation


@dataclass
class RequestRecorder:
    """Keep the parameters of the API calls a boto3 session makes, by operation name.

    ``recorder = RequestRecorder.attach(lab.boto_session, "sagemaker")`` and, after the
    SDK has called the service, ``recorder.last("CreateTrainingJob")`` is the request as
    sent (after validation, before signing). Works the same on moto and on AWS. Put an
    operation in ``block`` to record it without sending it (a dry run on a real account).
    """

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    block: set[str] = field(default_factory=set)
    """Operations to record but never send (:class:`RequestBlocked` is raised instead)."""

    @classmethod
    def attach(cls, boto_session: Any, service: str) -> RequestRecorder:
        """Start recording calls to ``service`` made through ``boto_session``."""
        recorder = cls()
        boto_session._session.register(f"provide-client-params.{service}.*", recorder._record)
        return recorder

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))
        if model.name in self.block:
            raise RequestBlocked(model.name)

    def last(self, operation: str) -> dict[str, Any]:
        """The parameters of the last call of ``operation``."""
        for name, params in reversed(self.calls):
            if name == operation:
                return params
        raise LabKitError(
            f"No {operation} call was recorded ({len(self.calls)} calls seen).",
            "attach the recorder to the same boto3 session the SDK uses, before the call.",
        )
