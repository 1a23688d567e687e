"""Waiting for messages on an SQS queue (plumbing for the S3-events lab).

The lesson of lab 02 (the rule pattern, the queue policy, the idempotent consumer) is in the
notebook. This module only waits, boundedly, until events have reached a queue: locally moto
delivers S3 → EventBridge → SQS before ``PutObject`` returns; on AWS the hops are
asynchronous, and right after EventBridge is enabled on a bucket the first events can take
minutes (S3's documentation says around five).
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from botocore.exceptions import ClientError

from labkit.errors import LabKitError


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages in the queue, visible or in flight (SQS's approximate counts)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_for_messages(
    sqs: Any, queue_url: str, expected: int, *, timeout_s: float, long_poll_s: int = 0
) -> int:
    """Wait until the queue holds at least ``expected`` messages; return how many it holds.

    Each round *peeks* with a long poll (``WaitTimeSeconds=long_poll_s``, up to 20 s, which
    asks every SQS server and returns as soon as a message is there) and
    ``VisibilityTimeout=0`` (the message stays visible), and counts distinct message ids
    together with SQS's approximate depth. Gives up with a clear error after ``timeout_s``.
    """
    if not 0 <= long_poll_s <= 20:
        raise LabKitError(f"long_poll_s={long_poll_s}: SQS allows 0-20 s.", "pass 0-20.")
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=long_poll_s,
            VisibilityTimeout=0,
        ).get("Messages", [])
        seen.update(m["MessageId"] for m in messages)
        depth = max(len(seen), queue_depth(sqs, queue_url))
        if depth >= expected:
            return depth
        if time.monotonic() > deadline:
            raise LabKitError(
                f"The queue holds {depth} message(s) after {timeout_s:.0f} s; expected "
                f"{expected}.",
                "check that the bucket sends events to EventBridge, that the rule's pattern "
                "matches the keys, and that the queue policy lets the rule send.",
            )
        if not long_poll_s:
            time.sleep(0.2)


def wait_until_bucket_delivers(
    lab: Any, bucket: str, *, timeout_s: float, every_s: float = 30.0
) -> float:
    """Block until S3 → EventBridge delivery works for ``bucket``; return seconds waited.

    S3 documents that EventBridge delivery takes around five minutes to take effect after
    it is enabled, and events of uploads made before that are not sent. This puts a probe
    object under ``probe/`` every ``every_s`` seconds, with a temporary rule and queue of
    its own (so no probe event can reach the lab's rule), until one probe event arrives.
    Removes the probe rule, queue and object versions before it returns.
    """
    events, sqs, s3 = lab.client("events"), lab.client("sqs"), lab.client("s3")
    name = f"{lab.resource_name('probe')}-{int(time.time())}"  # SQS: 60 s before reuse
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
        "bucket": {"name": [bucket]}, "object": {"key": [{"prefix": "probe/"}]}}}
    url = sqs.create_queue(QueueName=name, tags=lab.tag_dict)["QueueUrl"]
    try:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        rule_arn = events.put_rule(
            Name=name, EventPattern=json.dumps(pattern), Tags=lab.tags)["RuleArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
        events.put_targets(Rule=name, Targets=[{"Id": "probe", "Arn": arn}])
        started = time.monotonic()
        while True:
            s3.put_object(Bucket=bucket, Key="probe/ready.txt", Body=b"probe")
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0 if lab.is_local else 20)
            if got.get("Messages"):
                return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                raise LabKitError(
                    f"S3 sent no event for s3://{bucket}/probe/ in {timeout_s:.0f} s.",
                    "check the bucket's EventBridgeConfiguration and your EventBridge and "
                    "SQS permissions, then run the cell again.",
                )
            time.sleep(0.2 if lab.is_local else max(0.0, every_s - 20))
    finally:
        with contextlib.suppress(ClientError):
            events.remove_targets(Rule=name, Ids=["probe"])
        with contextlib.suppress(ClientError):  # even when removing the target failed
            events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=url)
        versions = s3.list_object_versions(Bucket=bucket, Prefix="probe/").get("Versions", [])
        for v in versions:
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])

