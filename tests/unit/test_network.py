"""Unit tests of labkit.network: the reachability analyzer and VPC cleanup."""

from __future__ import annotations

import json

import pytest

from labkit.errors import LabKitError
from labkit.network import (
    DESTINATIONS,
    GATEWAY,
    INTERFACE,
    ISOLATED,
    MANAGED,
    NAT,
    VPC_ONLY_SERVICES,
    Endpoint,
    JobNetwork,
    Network,
    Route,
    Rule,
    SecurityGroup,
    delete_vpc,
    describe_network,
    reachability,
    short_service,
)
from labkit.session import lab_context

HTTPS_VPC = Rule("tcp", 443, 443, cidrs=("10.0.0.0/16",))
HTTPS_S3 = Rule("tcp", 443, 443, prefix_lists=("pl-s3",))
ALL_OUT = Rule("-1", None, None, cidrs=("0.0.0.0/0",))


def private_network(
    job_egress: tuple[Rule, ...] = (HTTPS_VPC, HTTPS_S3),
    endpoint_ingress: tuple[Rule, ...] = (Rule("tcp", 443, 443, groups=("sg-job",)),),
    private_dns: bool = True,
    extra_routes: tuple[Route, ...] = (),
) -> Network:
    """Two private subnets, interface endpoints for the SageMaker set, an S3 gateway."""
    endpoints = tuple(
        Endpoint(
            f"vpce-{s}", s, "Interface", ("subnet-a", "subnet-b"), (), ("sg-ep",), private_dns
        )
        for s in VPC_ONLY_SERVICES
    ) + (Endpoint("vpce-s3", "s3", "Gateway", (), ("rtb-p",)),)
    return Network(
        vpc_id="vpc-1",
        cidr="10.0.0.0/16",
        subnets={"subnet-a": "10.0.1.0/24", "subnet-b": "10.0.2.0/24"},
        subnet_route_table={"subnet-a": "rtb-p", "subnet-b": "rtb-p"},
        route_tables={
            "rtb-p": (Route("10.0.0.0/16", "local"), Route("pl-s3", "vpce-s3"), *extra_routes)
        },
        security_groups={
            "sg-job": SecurityGroup("sg-job", (), job_egress),
            "sg-ep": SecurityGroup("sg-ep", endpoint_ingress, (ALL_OUT,)),
        },
        endpoints=endpoints,
        prefix_lists={"pl-s3": "s3"},
    )


def open_network(nat_subnet_has_igw: bool = True, egress: Rule = ALL_OUT) -> Network:
    public_routes = (Route("10.1.0.0/16", "local"),) + (
        (Route("0.0.0.0/0", "igw-1"),) if nat_subnet_has_igw else ()
    )
    return Network(
        vpc_id="vpc-2",
        cidr="10.1.0.0/16",
        subnets={
            "subnet-pub": "10.1.1.0/24",
            "subnet-nat": "10.1.2.0/24",
            "subnet-none": "10.1.3.0/24",
        },
        subnet_route_table={
            "subnet-pub": "rtb-pub",
            "subnet-nat": "rtb-nat",
            "subnet-none": "rtb-none",
        },
        route_tables={
            "rtb-pub": public_routes,
            "rtb-nat": (Route("10.1.0.0/16", "local"), Route("0.0.0.0/0", "nat-1")),
            "rtb-none": (Route("10.1.0.0/16", "local"),),
        },
        security_groups={"sg-open": SecurityGroup("sg-open", (), (egress,))},
        nat_gateways={"nat-1": ("subnet-pub", "available")},
    )


JOB = JobNetwork(("subnet-a", "subnet-b"), ("sg-job",))


def paths(verdicts):
    return {k: v.path for k, v in verdicts.items()}


def test_rule_ports():
    assert Rule("tcp", 443, 443).covers_https()
    assert Rule("tcp", 0, 65535).covers_https()
    assert Rule("-1", None, None).covers_https()
    assert not Rule("tcp", 80, 80).covers_https()
    assert not Rule("udp", 0, 65535).covers_https()


def test_short_service():
    assert short_service("com.amazonaws.eu-west-1.sagemaker.api") == "sagemaker.api"
    assert short_service("com.amazonaws.us-east-1.s3") == "s3"


def test_vpc_only_reaches_aws_services_but_not_the_internet():
    got = paths(reachability(private_network(), JOB))
    assert got["internet"] == "blocked"
    assert got["s3"] == GATEWAY
    assert all(got[s] == INTERFACE for s in VPC_ONLY_SERVICES)


def test_isolation_overrides_an_open_network():
    job = JobNetwork(("subnet-nat",), ("sg-open",), network_isolation=True)
    assert set(paths(reachability(open_network(), job)).values()) == {ISOLATED}


def test_no_vpc_config_is_the_managed_network():
    got = reachability(None, JobNetwork())
    assert all(v.reachable and v.path == MANAGED for v in got.values())
    assert len(got) == len(DESTINATIONS)


def test_missing_s3_prefix_list_blocks_s3_only():
    got = reachability(private_network(job_egress=(HTTPS_VPC,)), JOB)
    assert not got["s3"].reachable and "prefix list" in got["s3"].reason
    assert got["sts"].path == INTERFACE


def test_endpoint_security_group_must_admit_the_job():
    got = reachability(private_network(endpoint_ingress=()), JOB)
    assert not got["sagemaker.api"].reachable
    assert "does not admit" in got["sagemaker.api"].reason
    # A CIDR rule covering the job's subnets works as well as a group reference.
    cidr_ok = private_network(endpoint_ingress=(Rule("tcp", 443, 443, cidrs=("10.0.0.0/16",)),))
    assert reachability(cidr_ok, JOB)["sagemaker.api"].path == INTERFACE


def test_interface_endpoint_without_private_dns_is_not_used():
    got = reachability(private_network(private_dns=False), JOB)
    assert not got["sagemaker.api"].reachable
    assert "no route out" in got["sagemaker.api"].reason


def test_interface_endpoint_wins_over_nat_and_sg_can_block_it():
    net = open_network()
    # Add an STS interface endpoint to the open VPC whose group admits nobody.
    net = Network(
        **{
            **net.__dict__,
            "endpoints": (
                Endpoint("vpce-sts", "sts", "Interface", ("subnet-pub",), (), ("sg-ep",), True),
            ),
            "security_groups": {**net.security_groups, "sg-ep": SecurityGroup("sg-ep")},
        }
    )
    got = reachability(net, JobNetwork(("subnet-nat",), ("sg-open",)))
    assert not got["sts"].reachable  # DNS points at the endpoint, no fallback to NAT
    assert got["logs"].path == NAT


def test_public_subnet_with_igw_gives_no_internet():
    got = reachability(open_network(), JobNetwork(("subnet-pub",), ("sg-open",)))
    assert not any(v.reachable for v in got.values())
    assert "private addresses" in got["internet"].reason


def test_nat_needs_an_internet_gateway_and_egress():
    job = JobNetwork(("subnet-nat",), ("sg-open",))
    assert set(paths(reachability(open_network(), job)).values()) == {NAT}
    no_igw = reachability(open_network(nat_subnet_has_igw=False), job)["internet"]
    assert not no_igw.reachable and "without an internet gateway" in no_igw.reason
    internal_only = Rule("tcp", 443, 443, cidrs=("10.0.0.0/8",))
    blocked = reachability(open_network(egress=internal_only), job)["internet"]
    assert not blocked.reachable and "security-group" in blocked.reason


def test_subnets_that_disagree_count_as_blocked():
    job = JobNetwork(("subnet-nat", "subnet-none"), ("sg-open",))
    got = reachability(open_network(), job)["internet"]
    assert not got.reachable and got.reason.startswith("differs between subnets")


def test_wrong_subnet_or_group_is_a_clear_error():
    with pytest.raises(LabKitError, match="not in VPC"):
        reachability(private_network(), JobNetwork(("subnet-x",), ("sg-job",)))
    with pytest.raises(LabKitError, match="Security group"):
        reachability(private_network(), JobNetwork(("subnet-a",), ("sg-x",)))
    with pytest.raises(LabKitError, match="no network snapshot"):
        reachability(None, JOB)


def test_job_network_from_descriptions():
    training = {
        "VpcConfig": {"Subnets": ["s1"], "SecurityGroupIds": ["g1"]},
        "EnableNetworkIsolation": True,
    }
    assert JobNetwork.from_description(training) == JobNetwork(("s1",), ("g1",), True)
    processing = {
        "NetworkConfig": {
            "EnableNetworkIsolation": False,
            "VpcConfig": {"Subnets": ["s2"], "SecurityGroupIds": ["g2"]},
        }
    }
    assert JobNetwork.from_description(processing) == JobNetwork(("s2",), ("g2",), False)
    assert JobNetwork.from_description({}) == JobNetwork()


def test_describe_network_and_delete_vpc_on_moto():
    with lab_context("04-vpc-isolation") as lab:
        ec2 = lab.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=rt, SubnetId=subnet)
        job_sg = ec2.create_security_group(GroupName="j", Description="j", VpcId=vpc)["GroupId"]
        ep_sg = ec2.create_security_group(GroupName="e", Description="e", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=ep_sg,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "UserIdGroupPairs": [{"GroupId": job_sg}],
                }
            ],
        )
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName="com.amazonaws.us-east-1.s3",
            VpcEndpointType="Gateway",
            RouteTableIds=[rt],
            PolicyDocument=json.dumps({"Statement": []}),
        )
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName="com.amazonaws.us-east-1.sts",
            VpcEndpointType="Interface",
            SubnetIds=[subnet],
            SecurityGroupIds=[ep_sg],
            PrivateDnsEnabled=True,
        )
        net = describe_network(ec2, vpc)
        assert net.subnet_route_table[subnet] == rt
        assert {e.service for e in net.endpoints} == {"s3", "sts"}
        got = reachability(net, JobNetwork((subnet,), (job_sg,)))  # default egress: all
        assert got["s3"].path == GATEWAY
        assert got["sts"].path == INTERFACE
        assert not got["internet"].reachable

        delete_vpc(ec2, vpc)
        assert vpc not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        flt = [{"Name": "vpc-id", "Values": [vpc]}]
        assert not ec2.describe_subnets(Filters=flt)["Subnets"]
        live = [
            e
            for e in ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
            if e["State"].lower() != "deleted"
        ]
        assert not live
        with pytest.raises(LabKitError, match="not found"):
            describe_network(ec2, "vpc-00000000")


def test_unshare_command_asks_for_a_user_namespace_only_when_not_root(monkeypatch):
    from labkit import network

    monkeypatch.setattr(network.os, "geteuid", lambda: 1000)
    assert network._unshare_command() == ["unshare", "--net", "--map-root-user"]
    monkeypatch.setattr(network.os, "geteuid", lambda: 0)
    assert network._unshare_command() == ["unshare", "--net"]


def test_probe_without_network_sees_only_loopback_and_cannot_connect():
    from labkit import network

    if not network.network_namespace_available():
        with pytest.raises(LabKitError, match="network namespace"):
            network.probe_without_network("example.com", "10.0.0.1")
        pytest.skip("no network namespaces on this machine")
    got = network.probe_without_network("api.sagemaker.us-east-1.amazonaws.com", "10.20.1.10")
    assert got["interfaces"] == ["lo"]
    assert got["dns"] != "resolved"
    assert got["connect"].startswith("OSError") and "unreachable" in got["connect"]
