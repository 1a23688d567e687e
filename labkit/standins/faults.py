"""Stand-in for a throttled AWS API: make the next calls of one operation fail.

On AWS, ``StartExecution`` (or any call) can fail with ``ThrottlingException`` when an
account exceeds its request rate; a consumer must survive that without losing work. Nothing
local throttles, so :func:`throttled` makes a client's next ``times`` calls of ``operation``
fail exactly as a throttled call does (a :class:`botocore.exceptions.ClientError` with code
``ThrottlingException``), using botocore's ``before-call`` hook: the request is never sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Response:
    """The little of an HTTP response botocore reads from a ``before-call`` answer."""

    status_code = 400
    headers: dict[str, str] = {}


@contextlib.contextmanager
def throttled(client: Any, operation: str, times: int = 1) -> Iterator[list[str]]:
    """Inside the block, the next ``times`` calls of ``client.<operation>`` are throttled.

    ``operation`` is the API name (``"StartExecution"``). Yields a list that records each
    refused call, so a test can check how many were refused.
    """
    refused: list[str] = []
    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def refuse(**_: Any) -> tuple[_Response, dict[str, Any]] | None:
        if len(refused) >= times:
            return None  # let the call through
        refused.append(operation)
        error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        return _Response(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    client.meta.events.register(event, refuse)
    try:
        yield refused
    finally:
        client.meta.events.unregister(event, refuse)
