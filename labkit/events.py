"""S3 event notifications for the labs: patterns, parsing, and an idempotent consumer.

Amazon S3 delivers each notification *at least once*, and EventBridge and SQS add their own
at-least-once hops, so the same "object created" can reach a consumer twice. This module
holds the pieces a lab needs to turn that stream into exactly one Step Functions execution
per object version:

- :func:`object_created_pattern` — an EventBridge pattern for ``Object Created`` events of
  one bucket under a prefix with a suffix.
- :func:`allow_rule_to_send` — the SQS queue policy that lets one EventBridge rule deliver.
- :func:`parse_s3_events` — :class:`ObjectEvent` objects from any of the message shapes
  (EventBridge envelope, S3 ``Records`` format, either wrapped in SNS).
- :class:`IdempotentStarter` — drains a queue and starts one execution per object version;
  the execution *name* is a hash of bucket/key/version/etag/sequencer, so Step Functions'
  name uniqueness makes a repeated start harmless even after the consumer restarts.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote_plus

from labkit.errors import LabKitError

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_EXECUTION_NAME = 80
"""Step Functions execution names are 1–80 characters."""


# --------------------------------------------------------------------------- patterns
def object_created_pattern(bucket: str, prefix: str = "", suffix: str = "") -> dict[str, Any]:
    """An EventBridge event pattern for S3 ``Object Created`` events in ``bucket``.

    A key must start with ``prefix`` *and* end with ``suffix``. In a pattern, several
    filters in one list are alternatives (OR), so prefix-and-suffix is written as one
    ``wildcard`` filter (``incoming/*.csv``); with only one of them, the plain ``prefix``
    or ``suffix`` filter is used.
    """
    if "*" in prefix or "*" in suffix:
        raise LabKitError(
            "object_created_pattern: a prefix or suffix cannot contain '*'.",
            "pass literal text; the function builds the wildcard itself.",
        )
    obj: dict[str, Any] = {}
    if prefix and suffix:
        obj = {"key": [{"wildcard": f"{prefix}*{suffix}"}]}
    elif prefix:
        obj = {"key": [{"prefix": prefix}]}
    elif suffix:
        obj = {"key": [{"suffix": suffix}]}
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    if obj:
        detail["object"] = obj
    return {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}


def allow_rule_to_send(queue_arn: str, rule_arn: str) -> str:
    """The SQS queue policy (JSON) that lets exactly one EventBridge rule send messages."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowOneEventBridgeRule",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }],
    })


# --------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class ObjectEvent:
    """One S3 object event, whatever shape it arrived in."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    sequencer: str | None
    size: int | None
    event: str
    """``Object Created`` (EventBridge) or ``ObjectCreated:Put`` (S3 format), …"""
    event_id: str | None = None
    """EventBridge's event id (None in the S3 format)."""
    shape: str = "eventbridge"
    """``eventbridge`` or ``s3``."""

    @property
    def dedup_key(self) -> str:
        """What makes this *piece of work* unique: bucket, key, version, etag, sequencer.

        Two deliveries of the same event share it; a new version of the same key (or, in an
        unversioned bucket, a new upload with a new sequencer) does not.
        """
        return "|".join([
            self.bucket, self.key, self.version_id or "null", self.etag or "", self.sequencer or ""
        ])

    def execution_name(self, prefix: str = "") -> str:
        """A valid, deterministic Step Functions execution name for this object version.

        Readable part (``prefix`` + the key with unsafe characters replaced) plus the first
        24 hex digits of the SHA-256 of :attr:`dedup_key`; at most 80 characters.
        """
        digest = hashlib.sha256(self.dedup_key.encode()).hexdigest()[:24]
        readable = _NAME_CHARS.sub("-", f"{prefix}{self.key}").strip("-")
        room = MAX_EXECUTION_NAME - len(digest) - 1
        return f"{readable[:room]}-{digest}" if readable else digest

    def execution_input(self) -> dict[str, Any]:
        """The execution input: the object's identity (deterministic for a given event)."""
        data = asdict(self)
        data.pop("event_id")  # differs between re-sends of the same change on AWS
        return data


def _from_eventbridge(msg: dict[str, Any]) -> ObjectEvent:
    detail = msg.get("detail") or {}
    obj = detail.get("object") or {}
    if "bucket" not in detail or "key" not in obj:
        raise LabKitError(
            f"An EventBridge event of type {msg.get('detail-type')!r} has no bucket/key.",
            "route only S3 events (source aws.s3) to this consumer.",
        )
    size = obj.get("size")
    return ObjectEvent(
        bucket=detail["bucket"]["name"],
        key=obj["key"],
        version_id=obj.get("version-id"),
        etag=obj.get("etag") or obj.get("eTag"),
        sequencer=obj.get("sequencer"),
        size=int(size) if size is not None else None,
        event=str(msg.get("detail-type")),
        event_id=msg.get("id"),
        shape="eventbridge",
    )


def _from_record(rec: dict[str, Any]) -> ObjectEvent:
    s3 = rec["s3"]
    obj = s3["object"]
    size = obj.get("size")
    return ObjectEvent(
        bucket=s3["bucket"]["name"],
        key=unquote_plus(obj["key"]),  # keys are URL-encoded in this format
        version_id=obj.get("versionId"),
        etag=obj.get("eTag"),
        sequencer=obj.get("sequencer"),
        size=int(size) if size is not None else None,
        event=str(rec.get("eventName")),
        event_id=None,
        shape="s3",
    )


def parse_s3_events(body: str | dict[str, Any]) -> list[ObjectEvent]:
    """The object events in one message body (a JSON string or an already-parsed dict).

    Understands the EventBridge envelope (``detail-type`` + ``detail``), the S3 notification
    format (``Records``) and either one wrapped in an SNS notification. S3's
    ``s3:TestEvent`` (sent when a notification configuration is saved) gives ``[]``.
    """
    try:
        msg = json.loads(body) if isinstance(body, str) else body
    except json.JSONDecodeError as exc:
        raise LabKitError(
            f"A message body is not JSON: {str(body)[:80]!r}.",
            "send only S3 or EventBridge events to this queue.",
        ) from exc
    if not isinstance(msg, dict):
        raise LabKitError("A message body is not a JSON object.", "check what feeds the queue.")
    if msg.get("Type") == "Notification" and "Message" in msg:  # SNS envelope
        return parse_s3_events(msg["Message"])
    if msg.get("Event") == "s3:TestEvent":
        return []
    if "detail-type" in msg:
        return [_from_eventbridge(msg)]
    if "Records" in msg:
        return [_from_record(r) for r in msg["Records"] if r.get("eventSource") == "aws:s3"]
    raise LabKitError(
        f"Unrecognised message with keys {sorted(msg)[:6]}.",
        "this consumer reads EventBridge S3 events or S3 notification records.",
    )


# --------------------------------------------------------------------------- consuming
class SeenStore(Protocol):
    """Remembers which dedup keys were handled. ``add`` returns False if already there."""

    def add(self, key: str) -> bool: ...


class MemorySeen:
    """A seen-set in memory: fast, but forgotten when the consumer restarts."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def add(self, key: str) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


class DynamoDBSeen:
    """A seen-set in a DynamoDB table (partition key ``pk``, string), shared by consumers.

    ``add`` is one conditional ``PutItem`` (``attribute_not_exists(pk)``): of two consumers
    racing on the same key exactly one wins.
    """

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def add(self, key: str) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"pk": {"S": key}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False


@dataclass
class DrainReport:
    """What one :meth:`IdempotentStarter.drain` did."""

    messages: int = 0
    events: int = 0
    started: list[str] = field(default_factory=list)
    """Execution names Step Functions accepted."""
    skipped_seen: list[str] = field(default_factory=list)
    """Execution names skipped because the seen-set already had the object version."""
    skipped_exists: list[str] = field(default_factory=list)
    """Execution names Step Functions refused: an execution with that name already exists."""
    deleted: int = 0
    handled: list[tuple[ObjectEvent, str, str]] = field(default_factory=list)
    """Every event handled, as ``(event, outcome, execution_name)``."""

    @property
    def duplicates(self) -> int:
        """Events that did not start anything new."""
        return len(self.skipped_seen) + len(self.skipped_exists)


class IdempotentStarter:
    """Starts one Step Functions execution per object version, however often it is told.

    Two guards, in order: the ``seen`` store (cheap, skips the API call), then the execution
    name derived from :meth:`ObjectEvent.execution_name` — Step Functions refuses a second
    execution with the same name in a Standard state machine for 90 days, which protects
    even a consumer that lost its memory. Express state machines do not enforce name
    uniqueness: with them only a durable ``seen`` store (:class:`DynamoDBSeen`) protects you.
    """

    def __init__(
        self,
        sfn: Any,
        state_machine_arn: str,
        *,
        seen: SeenStore | None = None,
        name_prefix: str = "",
    ) -> None:
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn
        self.seen: SeenStore = seen if seen is not None else MemorySeen()
        self.name_prefix = name_prefix

    def start(self, event: ObjectEvent) -> tuple[str, str]:
        """Start the execution for ``event``; return ``(outcome, execution_name)``.

        ``outcome`` is ``"started"``, ``"seen"`` (skipped by the seen-set) or ``"exists"``
        (Step Functions already has an execution of that name).
        """
        name = event.execution_name(self.name_prefix)
        if not self.seen.add(event.dedup_key):
            return "seen", name
        try:
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=json.dumps(event.execution_input(), sort_keys=True),
            )
        except self.sfn.exceptions.ExecutionAlreadyExists:
            return "exists", name
        return "started", name

    def handle(self, body: str | dict[str, Any], report: DrainReport | None = None) -> DrainReport:
        """Handle one message body (all the object events in it)."""
        report = report if report is not None else DrainReport()
        for event in parse_s3_events(body):
            report.events += 1
            outcome, name = self.start(event)
            report.handled.append((event, outcome, name))
            {"started": report.started, "seen": report.skipped_seen,
             "exists": report.skipped_exists}[outcome].append(name)
        return report

    def drain(
        self,
        sqs: Any,
        queue_url: str,
        *,
        delete: bool = True,
        wait_seconds: int = 0,
        max_empty_polls: int = 1,
        visibility_timeout: int | None = None,
    ) -> DrainReport:
        """Receive until the queue looks empty, handle every message, delete it if ``delete``.

        A message is deleted only after its events were handled, so a crash in between
        means a redelivery — which the two guards turn into a no-op. ``delete=False``
        imitates exactly that crash: the messages stay invisible for ``visibility_timeout``
        seconds (which must then be > 0) and come back afterwards.
        """
        if not delete and not visibility_timeout:
            raise LabKitError(
                "drain(delete=False) needs a visibility_timeout > 0.",
                "pass e.g. visibility_timeout=1, or the same messages would come back at once "
                "and the loop would never end.",
            )
        report = DrainReport()
        empty = 0
        while empty < max_empty_polls:
            kwargs: dict[str, Any] = {
                "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait_seconds
            }
            if visibility_timeout is not None:
                kwargs["VisibilityTimeout"] = visibility_timeout
            messages = sqs.receive_message(**kwargs).get("Messages", [])
            if not messages:
                empty += 1
                continue
            for message in messages:
                report.messages += 1
                self.handle(message["Body"], report)
                if delete:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    report.deleted += 1
        return report


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages in the queue, visible or in flight (SQS's approximate counts)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"])


def wait_for_messages(
    sqs: Any, queue_url: str, expected: int, *, timeout_s: float = 60.0, poll_s: float = 1.0
) -> int:
    """Wait until the queue holds at least ``expected`` messages; return how many it holds.

    Locally moto delivers S3 → EventBridge → SQS before ``PutObject`` returns; on AWS the
    hops are asynchronous and take a few seconds.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        depth = queue_depth(sqs, queue_url)
        if depth >= expected:
            return depth
        if time.monotonic() > deadline:
            raise LabKitError(
                f"The queue holds {depth} message(s) after {timeout_s:.0f} s; expected "
                f"{expected}.",
                "check that the bucket sends events to EventBridge, that the rule's pattern "
                "matches the keys, and that the queue policy lets the rule send.",
            )
        time.sleep(poll_s)


def list_execution_names(sfn: Any, state_machine_arn: str) -> list[str]:
    """Names of every execution of a state machine (all pages, any status)."""
    names: list[str] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        names.extend(e["name"] for e in page["executions"])
    return names


def count_by(items: Iterable[str]) -> dict[str, int]:
    """How often each item occurs (insertion order kept)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts
