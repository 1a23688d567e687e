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


# ------------------------------------- labkit.events against recording stand-ins (no moto)
# The requests are compared with values written out by hand from the AWS documentation:
# the queue policy is the one EventBridge needs to send to an SQS queue,
#   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
# the pattern matches S3's "Object Created" events by bucket and key prefix,
#   https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
# and ReceiveMessage's WaitTimeSeconds may be 0-20:
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
import labkit.events as events_module  # noqa: E402


class _Clock:
    """time.monotonic/time.time/time.sleep: time moves only when the code sleeps."""

    def __init__(self, start=100.0):
        self.now, self.sleeps = start, []

    def monotonic(self):
        return self.now

    def time(self):
        return 1700000000.75

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += 0.25 if seconds == 0.2 else seconds


class _Client:
    """Records every call; answers from a table of canned replies (lists are consumed)."""

    def __init__(self, replies=None, errors=None):
        self.calls, self.replies, self.errors = [], replies or {}, errors or {}

    def __getattr__(self, operation):
        def call(**kwargs):
            self.calls.append((operation, kwargs))
            if operation in self.errors:
                raise self.errors[operation]
            reply = self.replies.get(operation, {})
            return reply.pop(0) if isinstance(reply, list) else reply
        return call


def _attrs(visible, in_flight):
    return {"Attributes": {"ApproximateNumberOfMessages": str(visible),
                           "ApproximateNumberOfMessagesNotVisible": str(in_flight)}}


@pytest.fixture
def clock(monkeypatch):
    fake = _Clock()
    monkeypatch.setattr(events_module, "time", fake)
    return fake


def test_queue_depth_adds_visible_and_in_flight():
    sqs = _Client({"get_queue_attributes": _attrs(3, 4)})
    assert queue_depth(sqs, "https://q/1") == 7
    assert sqs.calls == [("get_queue_attributes", {
        "QueueUrl": "https://q/1",
        "AttributeNames": ["ApproximateNumberOfMessages",
                           "ApproximateNumberOfMessagesNotVisible"]})]


def test_wait_for_messages_peeks_counts_distinct_ids_and_sleeps_between_short_polls(clock):
    sqs = _Client({
        "receive_message": [{"Messages": [{"MessageId": "m1"}]},
                            {"Messages": [{"MessageId": "m1"}, {"MessageId": "m2"}]},
                            {}],
        "get_queue_attributes": [_attrs(0, 0), _attrs(1, 1), _attrs(2, 1)],
    })
    assert wait_for_messages(sqs, "https://q/1", 3, timeout_s=60) == 3
    receives = [kw for op, kw in sqs.calls if op == "receive_message"]
    assert receives == [{"QueueUrl": "https://q/1", "MaxNumberOfMessages": 10,
                         "WaitTimeSeconds": 0, "VisibilityTimeout": 0}] * 3
    assert clock.sleeps == [0.2, 0.2]


def test_wait_for_messages_trusts_distinct_ids_when_the_counts_lag(clock):
    sqs = _Client({
        "receive_message": [{"Messages": [{"MessageId": "a"}, {"MessageId": "b"}]}],
        "get_queue_attributes": [_attrs(0, 0)],
    })
    assert wait_for_messages(sqs, "https://q/1", 2, timeout_s=60) == 2


def test_a_long_poll_does_not_sleep(clock):
    sqs = _Client({"receive_message": [{}, {"Messages": [{"MessageId": "a"}]}],
                   "get_queue_attributes": [_attrs(0, 0), _attrs(1, 0)]})
    assert wait_for_messages(sqs, "https://q/1", 1, timeout_s=60, long_poll_s=20) == 1
    assert [kw["WaitTimeSeconds"] for op, kw in sqs.calls if op == "receive_message"] == [
        20, 20]
    assert clock.sleeps == []


def test_wait_for_messages_gives_up_just_after_the_deadline(clock):
    sqs = _Client({"get_queue_attributes": _attrs(0, 0)})
    with pytest.raises(LabKitError) as info:
        wait_for_messages(sqs, "https://q/1", 5, timeout_s=1)
    # the clock reads 100, 100.25, ..., 101.0 (not past 101: one more round), 101.25: stop
    assert [op for op, _ in sqs.calls].count("receive_message") == 6
    assert str(info.value) == (
        "The queue holds 0 message(s) after 1 s; expected 5.\n"
        "  What to do: check that the bucket sends events to EventBridge, that the rule's "
        "pattern matches the keys, and that the queue policy lets the rule send.")


@pytest.mark.parametrize("long_poll_s", [-1, 21])
def test_long_poll_outside_0_to_20_is_refused(long_poll_s, clock):
    sqs = _Client()
    with pytest.raises(LabKitError) as info:
        wait_for_messages(sqs, "https://q/1", 1, timeout_s=1, long_poll_s=long_poll_s)
    assert str(info.value) == (
        f"long_poll_s={long_poll_s}: SQS allows 0-20 s.\n  What to do: pass 0-20.")
    assert sqs.calls == []


class _Lab:
    def __init__(self, is_local, s3=None, sqs=None, events=None):
        self.is_local = is_local
        self.tags = [{"Key": "course", "Value": "mle"}]
        self.tag_dict = {"course": "mle"}
        self.clients = {"s3": s3 or _Client(), "sqs": sqs or _Client(),
                        "events": events or _Client()}

    def resource_name(self, suffix):
        return f"mle-98-unit-test-{suffix}"

    def client(self, name):
        return self.clients[name]


NAME_PROBE = "mle-98-unit-test-probe-1700000000"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/" + NAME_PROBE
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:" + NAME_PROBE
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/" + NAME_PROBE


def _probe_lab(is_local, receives, versions=(), errors=None):
    sqs = _Client({
        "create_queue": {"QueueUrl": QUEUE_URL},
        "get_queue_attributes": {"Attributes": {"QueueArn": QUEUE_ARN}},
        "receive_message": list(receives),
    })
    events = _Client({"put_rule": {"RuleArn": RULE_ARN}}, errors)
    s3 = _Client({"list_object_versions": {"Versions": [
        {"Key": k, "VersionId": v} for k, v in versions]}})
    return _Lab(is_local, s3, sqs, events)


@pytest.mark.parametrize("is_local, every_s, wait_s, sleeps", [
    (False, None, 20, [10.0, 10.0]),  # default every_s=30: 20 s long poll + 10 s sleep
    (False, 15.0, 20, [0.0, 0.0]),  # a long poll already takes longer than 15 s
    (True, None, 0, [0.2, 0.2]),  # moto delivers at once: short polls, short sleeps
])
def test_the_probe_sends_what_aws_documents_and_cleans_up(clock, is_local, every_s,
                                                          wait_s, sleeps):
    lab = _probe_lab(is_local, [{}, {}, {"Messages": [{"MessageId": "p"}]}],
                     versions=[("probe/ready.txt", "v1"), ("probe/ready.txt", "v2")])
    kwargs = {} if every_s is None else {"every_s": every_s}
    waited = wait_until_bucket_delivers(lab, "bkt", timeout_s=600, **kwargs)
    assert clock.sleeps == sleeps
    assert waited == sum(0.25 if s == 0.2 else s for s in sleeps)
    sqs, events, s3 = (lab.clients[n] for n in ("sqs", "events", "s3"))
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": QUEUE_ARN,
        "Condition": {"ArnEquals": {"aws:SourceArn": RULE_ARN}}}]}
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"],
               "detail": {"bucket": {"name": ["bkt"]},
                          "object": {"key": [{"prefix": "probe/"}]}}}
    receive = ("receive_message", {"QueueUrl": QUEUE_URL, "WaitTimeSeconds": wait_s})
    assert [(op, kw) for op, kw in sqs.calls if op != "set_queue_attributes"] == [
        ("create_queue", {"QueueName": NAME_PROBE, "tags": {"course": "mle"}}),
        ("get_queue_attributes", {"QueueUrl": QUEUE_URL, "AttributeNames": ["QueueArn"]}),
        receive, receive, receive,
        ("delete_queue", {"QueueUrl": QUEUE_URL}),
    ]
    ((_, set_attrs),) = [c for c in sqs.calls if c[0] == "set_queue_attributes"]
    assert set_attrs["QueueUrl"] == QUEUE_URL and list(set_attrs["Attributes"]) == ["Policy"]
    assert json.loads(set_attrs["Attributes"]["Policy"]) == policy
    ((op, rule),) = events.calls[:1]
    assert op == "put_rule" and rule["Name"] == NAME_PROBE
    assert rule["Tags"] == [{"Key": "course", "Value": "mle"}]
    assert json.loads(rule["EventPattern"]) == pattern
    assert events.calls[1:] == [
        ("put_targets", {"Rule": NAME_PROBE, "Targets": [{"Id": "probe", "Arn": QUEUE_ARN}]}),
        ("remove_targets", {"Rule": NAME_PROBE, "Ids": ["probe"]}),
        ("delete_rule", {"Name": NAME_PROBE}),
    ]
    put = ("put_object", {"Bucket": "bkt", "Key": "probe/ready.txt", "Body": b"probe"})
    assert s3.calls == [
        put, put, put,
        ("list_object_versions", {"Bucket": "bkt", "Prefix": "probe/"}),
        ("delete_object", {"Bucket": "bkt", "Key": "probe/ready.txt", "VersionId": "v1"}),
        ("delete_object", {"Bucket": "bkt", "Key": "probe/ready.txt", "VersionId": "v2"}),
    ]


def test_the_probe_gives_up_just_after_its_timeout_and_still_cleans_up(clock):
    gone = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "x"}},
                       "RemoveTargets")
    lab = _probe_lab(False, [{}] * 10, errors={"remove_targets": gone})
    lab.clients["s3"].replies["list_object_versions"] = {}  # no versions at all
    with pytest.raises(LabKitError) as info:
        wait_until_bucket_delivers(lab, "bkt", timeout_s=20)
    # elapsed 0, 10, 20 (not past 20: one more round), 30: stop after the 4th probe
    assert [op for op, _ in lab.clients["s3"].calls].count("put_object") == 4
    assert str(info.value) == (
        "S3 sent no event for s3://bkt/probe/ in 20 s.\n"
        "  What to do: check the bucket's EventBridgeConfiguration and your EventBridge and "
        "SQS permissions, then run the cell again.")
    assert ("delete_queue", {"QueueUrl": QUEUE_URL}) in lab.clients["sqs"].calls
    assert [op for op, _ in lab.clients["s3"].calls][-1] == "list_object_versions"
