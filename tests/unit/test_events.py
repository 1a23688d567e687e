"""Unit tests of labkit.events: patterns, parsing, names, and the idempotent consumer."""

import json
import re
import time

import pytest

import labkit
from labkit.errors import LabKitError
from labkit.events import (
    DynamoDBSeen,
    IdempotentStarter,
    MemorySeen,
    ObjectEvent,
    allow_rule_to_send,
    list_execution_names,
    object_created_pattern,
    parse_s3_events,
    queue_depth,
    wait_for_messages,
)
from labkit.stepfunctions import wait_for_execution

EB_EVENT = {
    "version": "0", "id": "e-1", "detail-type": "Object Created", "source": "aws.s3",
    "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
    "resources": ["arn:aws:s3:::b"],
    "detail": {"version": "0", "bucket": {"name": "b"},
               "object": {"key": "incoming/my file.csv", "size": 5, "etag": "abc",
                          "version-id": "v1", "sequencer": "00A1"},
               "reason": "PutObject"},
}
S3_RECORDS = {"Records": [{
    "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
    "s3": {"bucket": {"name": "b"},
           "object": {"key": "incoming/my+file.csv", "size": 5, "eTag": "abc",
                      "versionId": "v1", "sequencer": "00A1"}},
}]}


def test_pattern_uses_one_wildcard_for_prefix_and_suffix():
    pattern = object_created_pattern("b", "incoming/", ".csv")
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "incoming/*.csv"}]
    assert object_created_pattern("b", "incoming/")["detail"]["object"]["key"] == [
        {"prefix": "incoming/"}]
    assert "object" not in object_created_pattern("b")["detail"]
    with pytest.raises(LabKitError):
        object_created_pattern("b", "in*")


def test_queue_policy_names_only_the_rule():
    policy = json.loads(allow_rule_to_send("arn:q", "arn:rule"))
    stmt = policy["Statement"][0]
    assert stmt["Principal"] == {"Service": "events.amazonaws.com"}
    assert stmt["Condition"]["ArnEquals"]["aws:SourceArn"] == "arn:rule"


def test_both_formats_give_the_same_object_and_name():
    (eb,) = parse_s3_events(json.dumps(EB_EVENT))
    (rec,) = parse_s3_events(S3_RECORDS)
    assert rec.key == "incoming/my file.csv"  # URL-decoded
    assert (eb.bucket, eb.key, eb.version_id, eb.etag, eb.sequencer) == (
        rec.bucket, rec.key, rec.version_id, rec.etag, rec.sequencer)
    assert eb.dedup_key == rec.dedup_key
    assert eb.execution_name() == rec.execution_name()


def test_sns_envelope_and_test_event():
    wrapped = {"Type": "Notification", "Message": json.dumps(S3_RECORDS)}
    assert len(parse_s3_events(wrapped)) == 1
    assert parse_s3_events({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []
    with pytest.raises(LabKitError):
        parse_s3_events("not json")
    with pytest.raises(LabKitError):
        parse_s3_events({"hello": 1})


def test_execution_names_are_valid_deterministic_and_distinct():
    base = ObjectEvent("b", "incoming/" + "x" * 200 + ".csv", "v1", "e", "s", 1, "Object Created")
    name = base.execution_name("obj-")
    assert len(name) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert name == base.execution_name("obj-")
    other_version = ObjectEvent("b", base.key, "v2", "e", "s", 1, "Object Created")
    assert other_version.execution_name("obj-") != name


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("COURSE_BACKEND", raising=False)
    with labkit.lab_context("02-unit-events") as lab:
        yield lab


def _machine(lab):
    sfn = lab.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(
        name="unit", definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    return sfn, arn


def test_starter_starts_once_even_after_restart(lab):
    sfn, arn = _machine(lab)
    starter = IdempotentStarter(sfn, arn)
    report = starter.handle(EB_EVENT)
    assert report.started and not report.duplicates
    assert starter.handle(EB_EVENT).skipped_seen  # same consumer: seen-set
    fresh = IdempotentStarter(sfn, arn)  # a restarted consumer forgot everything
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        wait_for_execution(sfn, execution["executionArn"])  # closed, as on AWS later on
    again = fresh.handle(EB_EVENT)
    assert again.skipped_exists and not again.started
    assert len(list_execution_names(sfn, arn)) == 1


def test_drain_deletes_and_redelivery_is_harmless(lab):
    sfn, arn = _machine(lab)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="unit-q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(EB_EVENT))
    starter = IdempotentStarter(sfn, arn)
    with pytest.raises(LabKitError):
        starter.drain(sqs, url, delete=False)
    assert wait_for_messages(sqs, url, 1, timeout_s=1) == 1
    crashed = starter.drain(sqs, url, delete=False, visibility_timeout=1)
    assert crashed.messages == 1 and crashed.deleted == 0 and len(crashed.started) == 1
    assert queue_depth(sqs, url) == 1  # in flight, not gone
    time.sleep(1.2)  # the visibility timeout runs out: the message is redelivered
    retried = starter.drain(sqs, url)
    assert retried.messages == 1 and retried.deleted == 1 and retried.duplicates == 1
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    assert len(list_execution_names(sfn, arn)) == 1


def test_seen_stores(lab):
    mem = MemorySeen()
    assert mem.add("k") and not mem.add("k")
    ddb = lab.client("dynamodb")
    ddb.create_table(TableName="seen", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    store = DynamoDBSeen(ddb, "seen")
    assert store.add("k") is True
    assert store.add("k") is False
    assert store.add("other") is True
