import pytest

import labkit
from labkit.errors import LabKitError
from labkit.requests import RequestBlocked, RequestRecorder, request_problems, validate_request


def test_a_valid_request_has_no_problems():
    assert request_problems("sqs", "CreateQueue", {"QueueName": "q"}) == []
    validate_request("sqs", "CreateQueue", {"QueueName": "q"})


def test_botocore_checks_and_the_service_side_checks_are_both_reported():
    problems = request_problems(
        "sagemaker", "CreateEndpointConfig",
        {"ProductionVariants": [{"VariantName": "v", "InstanceType": "ml.nope",
                                 "ServerlessConfig": {"MemorySizeInMB": 8192, "MaxConcurrency": 1}}]},
    )
    text = "\n".join(problems)
    assert "EndpointConfigName" in text  # required member: botocore
    assert "'ml.nope' is not one of" in text  # enum: the service
    assert "8192 is above the maximum 6144" in text  # maximum: the service


def test_validate_request_raises_with_every_problem():
    with pytest.raises(LabKitError) as info:
        validate_request("sqs", "SendMessage", {"QueueUrl": 5})
    assert "MessageBody" in str(info.value) and "QueueUrl" in str(info.value)


def test_unknown_operation_or_service_says_what_to_check():
    with pytest.raises(LabKitError, match="no operation 'MakeQueue'"):
        request_problems("sqs", "MakeQueue", {})
    with pytest.raises(LabKitError, match="no model of nosuch.X"):
        request_problems("nosuch", "X", {})


def test_recorder_keeps_requests_and_blocks_what_it_is_told(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        recorder = RequestRecorder.attach(lab.boto_session, "sqs")
        sqs = lab.client("sqs")
        sqs.create_queue(QueueName="kept")
        assert recorder.last("CreateQueue") == {"QueueName": "kept"}
        recorder.block.add("CreateQueue")
        with pytest.raises(RequestBlocked):
            sqs.create_queue(QueueName="blocked")
        assert [q.rsplit("/", 1)[1] for q in sqs.list_queues()["QueueUrls"]] == ["kept"]
        with pytest.raises(LabKitError, match="No DeleteQueue call"):
            recorder.last("DeleteQueue")
