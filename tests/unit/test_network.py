"""Lab 04: the reachability reasoning (#@save cells) and the VPC stand-ins.

The networks below are written by hand in the shape of EC2's describe_* responses, and
each expected path follows from how AWS routes and filters traffic (private DNS to an
interface endpoint, a prefix-list route to a gateway endpoint, a NAT gateway behind an
internet gateway, security groups as allow lists on both ends).
"""

from __future__ import annotations

import copy
import json

import pytest

import labkit
from labkit import lessons
from labkit.standins import network as standin

vpc = lessons.load("04-vpc-isolation")
PL_S3 = "pl-s3"


def https(**target):
    return {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [],
            "PrefixListIds": [], "UserIdGroupPairs": [], **target}


def everything(**target):
    return {"IpProtocol": "-1", "IpRanges": [], "PrefixListIds": [],
            "UserIdGroupPairs": [], **target}


def group(gid, ingress=(), egress=()):
    return {"GroupId": gid, "IpPermissions": list(ingress),
            "IpPermissionsEgress": list(egress)}


def private_network():
    """Two private subnets, S3 gateway endpoint, STS interface endpoint, no NAT."""
    job_egress = [
        https(IpRanges=[{"CidrIp": "10.0.0.0/16"}], PrefixListIds=[{"PrefixListId": PL_S3}]),
        everything(UserIdGroupPairs=[{"GroupId": "sg-job"}]),
    ]
    routes = [("10.0.0.0/16", "local"), (PL_S3, "vpce-s3")]
    return {
        "subnets": {"subnet-a": "10.0.1.0/24", "subnet-b": "10.0.2.0/24"},
        "routes": {"subnet-a": routes, "subnet-b": routes},
        "groups": {
            "sg-job": group("sg-job", [everything(UserIdGroupPairs=[{"GroupId": "sg-job"}])],
                            job_egress),
            "sg-ep": group("sg-ep", [https(UserIdGroupPairs=[{"GroupId": "sg-job"}])]),
        },
        "endpoints": [
            {"VpcEndpointId": "vpce-sts", "ServiceName": "com.amazonaws.us-east-1.sts",
             "VpcEndpointType": "Interface", "PrivateDnsEnabled": True,
             "SubnetIds": ["subnet-a", "subnet-b"], "Groups": [{"GroupId": "sg-ep"}]},
            {"VpcEndpointId": "vpce-s3", "ServiceName": "com.amazonaws.us-east-1.s3",
             "VpcEndpointType": "Gateway", "PrivateDnsEnabled": False,
             "SubnetIds": [], "Groups": []},
        ],
        "nats": {},
        "prefix_lists": {PL_S3: "s3"},
    }


def in_vpc(subnets=("subnet-a", "subnet-b"), groups=("sg-job",), isolated=False):
    return {"VpcConfig": {"Subnets": list(subnets), "SecurityGroupIds": list(groups)},
            "EnableNetworkIsolation": isolated}


def paths(net, job):
    return {d: p for d, (p, _) in vpc.reachability(net, job).items()}


def test_short_service_and_rule_ports():
    assert vpc.short("com.amazonaws.eu-west-1.sagemaker.api") == "sagemaker.api"
    rule = [{"IpProtocol": "tcp", "FromPort": 400, "ToPort": 500,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    assert vpc.permits(rule, 443, cidr="10.1.2.0/24")
    assert not vpc.permits(rule, 22, cidr="10.1.2.0/24")
    assert not vpc.permits(rule, 443, cidr="11.0.0.0/24")  # outside 10/8
    assert not vpc.permits(rule, None, cidr="10.1.2.0/24")  # all traffic needs "-1"
    assert not vpc.permits(rule, 443, cidr=vpc.PUBLIC)
    assert vpc.permits([everything(IpRanges=[{"CidrIp": "0.0.0.0/0"}])], 443,
                       cidr=vpc.PUBLIC)


def test_private_subnets_reach_what_the_job_needs_and_nothing_else():
    assert paths(private_network(), in_vpc()) == {
        "internet": vpc.BLOCKED, "s3": vpc.GATEWAY, "sts": vpc.INTERFACE,
        "sagemaker.api": vpc.BLOCKED,  # no endpoint and no NAT: nothing else to use
        "ecr.dkr": vpc.BLOCKED, "peer": vpc.OWN_GROUP,
    }


def test_isolation_blocks_calls_out_but_not_the_cluster_itself():
    got = paths(private_network(), in_vpc(isolated=True))
    assert got.pop("peer") == vpc.OWN_GROUP
    assert set(got.values()) == {vpc.ISOLATED}


def test_no_vpc_config_is_the_managed_network():
    got = paths(None, {"EnableNetworkIsolation": False})
    assert set(got.values()) == {vpc.MANAGED} and len(got) == 6


def test_missing_s3_prefix_list_blocks_s3_only():
    net = private_network()
    net["groups"]["sg-job"]["IpPermissionsEgress"][0]["PrefixListIds"] = []
    got = paths(net, in_vpc())
    assert got["s3"] == vpc.BLOCKED and got["sts"] == vpc.INTERFACE


def test_endpoint_group_must_admit_the_job_and_dns_must_be_private():
    net = private_network()
    net["groups"]["sg-ep"]["IpPermissions"] = []
    assert paths(net, in_vpc())["sts"] == vpc.BLOCKED
    net = private_network()
    net["endpoints"][0]["PrivateDnsEnabled"] = False
    assert paths(net, in_vpc())["sts"] == vpc.BLOCKED
    net = private_network()  # admitted by the job subnet's CIDR instead of its group
    net["groups"]["sg-ep"]["IpPermissions"] = [https(IpRanges=[{"CidrIp": "10.0.0.0/20"}])]
    assert paths(net, in_vpc())["sts"] == vpc.INTERFACE


def test_peers_need_a_self_referencing_rule():
    net = private_network()
    net["groups"]["sg-job"]["IpPermissions"] = []
    assert paths(net, in_vpc())["peer"] == vpc.BLOCKED


def open_network():
    """A public subnet (default route to an IGW) and one behind a NAT in it."""
    return {
        "subnets": {"subnet-pub": "10.1.1.0/24", "subnet-nat": "10.1.2.0/24"},
        "routes": {"subnet-pub": [("10.1.0.0/16", "local"), ("0.0.0.0/0", "igw-1")],
                   "subnet-nat": [("10.1.0.0/16", "local"), ("0.0.0.0/0", "nat-1")]},
        "groups": {"sg-open": group(
            "sg-open", [everything(UserIdGroupPairs=[{"GroupId": "sg-open"}])],
            [everything(IpRanges=[{"CidrIp": "0.0.0.0/0"}])])},
        "endpoints": [],
        "nats": {"nat-1": "subnet-pub"},
        "prefix_lists": {PL_S3: "s3"},
    }


def test_public_subnet_gives_no_internet_but_nat_does():
    net = open_network()
    public = paths(net, in_vpc(["subnet-pub"], ["sg-open"]))
    assert public.pop("peer") == vpc.OWN_GROUP
    assert set(public.values()) == {vpc.BLOCKED}
    nat = paths(net, in_vpc(["subnet-nat"], ["sg-open"]))
    assert nat.pop("peer") == vpc.OWN_GROUP
    assert set(nat.values()) == {vpc.NAT}


def test_nat_needs_an_internet_gateway_and_egress():
    net = open_network()
    net["routes"]["subnet-pub"] = [("10.1.0.0/16", "local")]
    assert paths(net, in_vpc(["subnet-nat"], ["sg-open"]))["internet"] == vpc.BLOCKED
    net = open_network()
    net["groups"]["sg-open"]["IpPermissionsEgress"] = [
        https(IpRanges=[{"CidrIp": "10.1.0.0/16"}])]
    assert paths(net, in_vpc(["subnet-nat"], ["sg-open"]))["internet"] == vpc.BLOCKED


def test_subnets_that_disagree_count_as_blocked():
    net = open_network()
    both = vpc.reachability(net, in_vpc(["subnet-pub", "subnet-nat"], ["sg-open"]))
    assert both["internet"] == (vpc.BLOCKED, "differs between the job's subnets")


def test_describe_network_and_delete_vpc_on_moto(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_BACKEND", "local")
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        ec2, region = lab.client("ec2"), lab.region
        vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        sub = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=rt, SubnetId=sub)
        sg = ec2.create_security_group(GroupName="job", Description="j", VpcId=vpc_id)
        ec2.create_vpc_endpoint(VpcEndpointType="Gateway", VpcId=vpc_id,
                                ServiceName=f"com.amazonaws.{region}.s3",
                                RouteTableIds=[rt], PolicyDocument=json.dumps({}))
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_nat_gateway(SubnetId=sub, AllocationId=eip)
        net = vpc.describe_network(ec2, vpc_id)
        assert net["subnets"] == {sub: "10.9.1.0/24"}
        assert [t for _, t in net["routes"][sub]][0] == "local"
        assert any(t.startswith("vpce-") for _, t in net["routes"][sub])
        assert sg["GroupId"] in net["groups"] and len(net["endpoints"]) == 1
        assert paths(net, in_vpc([sub], [sg["GroupId"]]))["s3"] == vpc.GATEWAY
        standin.delete_vpc(ec2, vpc_id)
        assert vpc_id not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        assert ec2.describe_addresses()["Addresses"] == []
        assert ec2.describe_network_interfaces(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkInterfaces"] == []


def test_probe_without_network_sees_only_loopback_and_cannot_connect():
    if not standin.network_namespace_available():
        with pytest.raises(labkit.errors.LabKitError, match="network namespace"):
            standin.probe_without_network("example.com", "10.0.0.1")
        pytest.skip("no network namespaces on this machine")
    got = standin.probe_without_network("api.sagemaker.us-east-1.amazonaws.com", "10.20.1.10")
    assert got["interfaces"] == ["lo"]
    assert got["dns"] != "resolved"
    assert got["connect"].startswith("OSError") and "unreachable" in got["connect"]


def test_helpers_do_not_modify_their_input():
    net = private_network()
    before = copy.deepcopy(net)
    vpc.reachability(net, in_vpc())
    assert net == before
