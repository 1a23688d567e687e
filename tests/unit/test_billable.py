"""The billable guard: a create that starts something billed is refused until the lab has
registered its deletion (labkit.session.BILLABLE, hooked on the lab's botocore session)."""

import botocore.session
import pytest

import labkit
from labkit.errors import LabKitError
from labkit.session import BILLABLE
from labkit.sweep import ORDER

GUARDED = "97-guard-test"  # not a scratch lab (98-…): the guard is on, as in every lab


@pytest.fixture
def lab(monkeypatch):
    monkeypatch.delenv("COURSE_LEARNER", raising=False)
    with labkit.lab_context(GUARDED) as lab:
        yield lab


def test_every_billable_operation_and_parameter_exists_in_botocore():
    """A typo in the table would silently switch the guard off for that call."""
    session = botocore.session.get_session()
    for (service, operation), key in BILLABLE.items():
        model = session.get_service_model(service)
        assert model.service_id.hyphenize() == service, (service, "event name differs")
        assert operation in model.operation_names, (service, operation)
        if key.startswith("kind:"):
            assert key[len("kind:"):] in ORDER, key
            assert "TagSpecifications" in model.operation_model(
                operation).input_shape.members, (service, operation)
        else:
            shape = model.operation_model(operation).input_shape
            assert key in shape.required_members, (service, operation, key)


def test_an_unregistered_endpoint_is_refused_before_the_request(lab):
    sm = lab.client("sagemaker")
    with pytest.raises(LabKitError, match="CreateEndpoint refused") as info:
        sm.create_endpoint(EndpointName="mlecourse-97-api", EndpointConfigName="c")
    assert "resource='mlecourse-97-api'" in str(info.value)
    assert sm.list_endpoints()["Endpoints"] == []  # nothing reached the service


def test_a_registered_name_may_be_created_and_only_that_name(lab):
    kinesis = lab.client("kinesis")
    lab.on_cleanup("delete stream", lambda: kinesis.delete_stream(StreamName="mlecourse-97-a"),
                   resource="mlecourse-97-a")
    kinesis.create_stream(StreamName="mlecourse-97-a", ShardCount=1)
    with pytest.raises(LabKitError, match="'mlecourse-97-b' is not registered"):
        kinesis.create_stream(StreamName="mlecourse-97-b", ShardCount=1)


def test_the_sdk_clients_share_the_guard(lab):
    session = lab.sagemaker_session()
    with pytest.raises(LabKitError, match="CreateEndpoint refused"):
        session.sagemaker_client.create_endpoint(EndpointName="mlecourse-97-sdk",
                                                 EndpointConfigName="c")


def test_service_named_resources_need_a_kind_deleter_and_the_lab_tag(lab):
    ec2 = lab.client("ec2")
    tagged = [{"ResourceType": "elastic-ip", "Tags": lab.tags}]
    with pytest.raises(LabKitError, match="no deletion of ec2:elastic-ip"):
        ec2.allocate_address(Domain="vpc", TagSpecifications=tagged)
    lab.clean_up_by_tag("ec2:elastic-ip")
    with pytest.raises(LabKitError, match="does not tag the resource with lab="):
        ec2.allocate_address(Domain="vpc")
    allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=tagged)["AllocationId"]
    assert lab.cleanup(verbose=False) == []  # the kind deleter found it by its tag
    # (the leak check in cleanup() would report the address if it were still there)
    assert allocation


def test_a_kind_deleter_needs_a_kind_the_sweep_knows(lab):
    with pytest.raises(LabKitError, match="unknown kinds"):
        lab.clean_up_by_tag("ec2:nat-gateway")


def test_a_client_of_boto3s_default_session_is_guarded_too(lab):
    import boto3

    with pytest.raises(LabKitError, match="CreateStream refused"):
        boto3.client("kinesis", region_name=lab.region).create_stream(
            StreamName="mlecourse-97-c", ShardCount=1)
