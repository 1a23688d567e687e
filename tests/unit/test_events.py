"""Lab 02's consumer (its #@save cells, loaded with labkit.lessons) and the kit's plumbing
around it: the throttle stand-in and the SQS waits.

Expected execution names are written out by hand: SHA-256 of the documented identity
"bucket|key|version|etag|sequencer", computed once with hashlib outside the code under test.
"""

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.errors import LabKitError
from labkit.events import queue_depth, wait_for_messages, wait_until_bucket_delivers
from labkit.lessons import load
from labkit.standins.faults import throttled
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
# sha256("b|incoming/my file.csv|v1|abc|00A1") = cecd41c120e6b43540960de1 39108332...
NAME = "incoming-my-file-csv-cecd41c120e6b43540960de1"
# sha256("b|incoming/my file.csv|v1|abc|00A2") = f34867922e6d5c635407a249 9f262170...
NAME_NEXT_SEQUENCER = "incoming-my-file-csv-f34867922e6d5c635407a249"


@pytest.fixture(scope="module")
def ev():
    return load("02-s3-event-notifications")


def with_object(**changes):
    event = json.loads(json.dumps(EB_EVENT))
    event["detail"]["object"].update(changes)
    return event


def test_both_formats_give_the_same_change_and_name(ev):
    (eb,) = ev.parse_s3_events(json.dumps(EB_EVENT))
    (rec,) = ev.parse_s3_events(S3_RECORDS)
    assert rec.key == "incoming/my file.csv"  # URL-decoded
    assert (eb.bucket, eb.key, eb.version_id, eb.etag, eb.sequencer) == (
        "b", "incoming/my file.csv", "v1", "abc", "00A1")
    assert ev.dedup_key(eb) == ev.dedup_key(rec) == "b|incoming/my file.csv|v1|abc|00A1"
    assert ev.execution_name(eb) == ev.execution_name(rec) == NAME
    assert (eb.event_id, rec.event_id) == ("e-1", None)


def test_moto_spelling_of_the_etag_is_read(ev):
    moto_style = with_object(eTag="abc")
    del moto_style["detail"]["object"]["etag"]
    (event,) = ev.parse_s3_events(moto_style)
    assert event.etag == "abc" and ev.execution_name(event) == NAME


def test_sequencer_alone_changes_the_name(ev):
    (event,) = ev.parse_s3_events(with_object(sequencer="00A2"))
    assert ev.execution_name(event) == NAME_NEXT_SEQUENCER


def test_version_and_etag_change_the_name(ev):
    base = ev.execution_name(ev.parse_s3_events(EB_EVENT)[0])
    for change in ({"version-id": "v2"}, {"etag": "abd"}, {"key": "incoming/my file2.csv"}):
        assert ev.execution_name(ev.parse_s3_events(with_object(**change))[0]) != base


def test_names_are_valid_for_long_keys(ev):
    (event,) = ev.parse_s3_events(with_object(key="incoming/" + "x" * 200 + ".csv"))
    name = ev.execution_name(event)
    assert len(name) == 80 and re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert re.search(r"-[0-9a-f]{24}$", name)


def test_sns_envelope_test_event_and_junk(ev):
    wrapped = {"Type": "Notification", "Message": json.dumps(S3_RECORDS)}
    assert [e.key for e in ev.parse_s3_events(wrapped)] == ["incoming/my file.csv"]
    assert ev.parse_s3_events({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []
    with pytest.raises(ValueError):
        ev.parse_s3_events({"hello": 1})


def test_execution_input_leaves_out_the_event_id(ev):
    (first,) = ev.parse_s3_events(EB_EVENT)
    again = json.loads(json.dumps(EB_EVENT))
    again["id"] = "e-2"  # a second delivery of the same change
    (second,) = ev.parse_s3_events(again)
    assert ev.execution_input(first) == ev.execution_input(second)
    assert json.loads(ev.execution_input(first)) == {
        "bucket": "b", "key": "incoming/my file.csv", "version_id": "v1", "etag": "abc",
        "sequencer": "00A1"}


# --------------------------------------------------------------------------- on moto


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_BACKEND", "local")
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


def _machine(lab):
    sfn = lab.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(
        name="unit", definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    return sfn, arn


def _names(sfn, arn):
    return [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]


def test_a_throttled_start_is_not_marked_and_the_redelivery_starts_it(ev, lab):
    sfn, arn = _machine(lab)
    (event,) = ev.parse_s3_events(EB_EVENT)
    seen = set()
    with throttled(sfn, "StartExecution", times=1) as refused:
        with pytest.raises(ClientError) as err:
            ev.start_once(sfn, arn, event, seen)
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        assert seen == set() and _names(sfn, arn) == []  # nothing marked, nothing run
        assert ev.start_once(sfn, arn, event, seen) == ("started", NAME)
    assert refused == ["StartExecution"]
    assert seen == {NAME} and _names(sfn, arn) == [NAME]
    assert ev.start_once(sfn, arn, event, seen) == ("seen", NAME)


def test_a_restarted_consumer_is_stopped_by_the_name(ev, lab):
    sfn, arn = _machine(lab)
    (event,) = ev.parse_s3_events(EB_EVENT)
    assert ev.start_once(sfn, arn, event, set())[0] == "started"
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        wait_for_execution(sfn, execution["executionArn"])
    fresh = set()
    assert ev.start_once(sfn, arn, event, fresh) == ("exists", NAME)
    assert fresh == {NAME} and _names(sfn, arn) == [NAME]


def test_drain_keeps_a_throttled_message_until_it_is_started(ev, lab):
    sfn, arn = _machine(lab)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="unit-q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(EB_EVENT))
    seen = set()

    def start(e):
        return ev.start_once(sfn, arn, e, seen)

    with throttled(sfn, "StartExecution", times=1):
        first = ev.drain(sqs, url, start, visibility_s=1)
    assert [(o, n) for _, o, n in first] == [("ThrottlingException", "")]
    assert queue_depth(sqs, url) == 1  # in flight, not deleted
    time.sleep(1.2)  # the visibility timeout runs out: SQS redelivers
    second = ev.drain(sqs, url, start, visibility_s=1)
    assert [(o, n) for _, o, n in second] == [("started", NAME)]
    assert queue_depth(sqs, url) == 0 and _names(sfn, arn) == [NAME]


def test_drain_without_delete_ends_and_the_message_comes_back(ev, lab):
    sfn, arn = _machine(lab)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="unit-q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(EB_EVENT))
    seen = set()
    crashed = ev.drain(sqs, url, lambda e: ev.start_once(sfn, arn, e, seen),
                       visibility_s=1, delete=False)
    assert [o for _, o, _ in crashed] == ["started"]
    time.sleep(1.2)
    again = ev.drain(sqs, url, lambda e: ev.start_once(sfn, arn, e, seen))
    assert [o for _, o, _ in again] == ["seen"] and queue_depth(sqs, url) == 0


def test_throttled_refuses_exactly_n_calls_and_then_unhooks(lab):
    sfn, arn = _machine(lab)
    codes = []
    with throttled(sfn, "StartExecution", times=2) as refused:
        for i in range(3):
            try:
                sfn.start_execution(stateMachineArn=arn, name=f"n{i}")
                codes.append("OK")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        sfn.list_executions(stateMachineArn=arn)  # other operations pass
    assert codes == ["ThrottlingException", "ThrottlingException", "OK"]
    assert len(refused) == 2
    sfn.start_execution(stateMachineArn=arn, name="after")  # unhooked after the block


def test_wait_for_messages_counts_and_times_out(lab):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="unit-wait")["QueueUrl"]
    with pytest.raises(LabKitError, match="holds 0 message"):
        wait_for_messages(sqs, url, 1, timeout_s=0.3)
    for i in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert wait_for_messages(sqs, url, 2, timeout_s=1) == 2
    assert wait_for_messages(sqs, url, 2, timeout_s=5, long_poll_s=1) == 2  # long-poll path
    assert queue_depth(sqs, url) == 2  # peeking left both messages in the queue
    with pytest.raises(LabKitError, match="0-20"):
        wait_for_messages(sqs, url, 1, timeout_s=1, long_poll_s=21)


def test_wait_until_bucket_delivers_leaves_nothing_behind(lab):
    s3, sqs, events = lab.client("s3"), lab.client("sqs"), lab.client("events")
    bucket = lab.bucket("unit")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    with pytest.raises(LabKitError, match="no event"):
        wait_until_bucket_delivers(lab, bucket, timeout_s=0.5)  # EventBridge not enabled
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    assert 0 <= wait_until_bucket_delivers(lab, bucket, timeout_s=5) < 5
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert events.list_rules()["Rules"] == []
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []
