"""Where can a SageMaker container connect? A small reachability analyzer for VPC settings.

A training job (or endpoint, or processing job) with a ``VpcConfig`` gets network
interfaces in *your* subnets, guarded by *your* security groups. Whether its container can
reach the internet, Amazon S3 or the SageMaker API then follows from a handful of
described facts: the subnet's route table, the security groups' HTTPS rules, the VPC
endpoints (and whether their private DNS names are on), the NAT gateways — and the job's
own ``EnableNetworkIsolation`` switch, which overrides all of them.

* :func:`describe_network` reads those facts for one VPC with ``describe_*`` calls into a
  plain :class:`Network` snapshot (works the same against moto and a real account).
* :class:`JobNetwork` is the job's side: subnets, security groups, network isolation;
  :meth:`JobNetwork.from_description` reads it from ``DescribeTrainingJob`` output.
* :func:`reachability` answers, per destination in :data:`DESTINATIONS`, *reachable or
  not, by which path, and why*.
* :func:`delete_vpc` removes a VPC and everything in it in dependency order (cleanup).

The model is deliberately small and states its simplifications: only TCP 443 (HTTPS) is
considered; network ACLs are assumed to be the default allow-all; endpoint and bucket
*policies* (which decide what may be done once connected) are not evaluated; a gateway or
interface endpoint is assumed healthy when its state is ``available``. AWS's own
`Reachability Analyzer <https://docs.aws.amazon.com/vpc/latest/reachability/>`_ is the
tool for a real network.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from labkit.errors import LabKitError

HTTPS_PORT = 443
"""Every AWS API, S3 and a package index speak HTTPS; the analyzer checks this port."""

PUBLIC_PROBE_IP = ipaddress.ip_address("198.51.100.7")
"""Stands for "an address on the internet" (a documentation range, RFC 5737): an egress
rule allows the internet only if its CIDR contains it (``0.0.0.0/0`` does, ``10.0.0.0/8``
does not). Public AWS service addresses are treated the same way."""

# Paths a verdict can report.
MANAGED = "SageMaker-managed network"
INTERFACE = "interface endpoint"
GATEWAY = "gateway endpoint"
NAT = "NAT gateway"
BLOCKED = "blocked"
ISOLATED = "no network (isolated)"
PATHS = (MANAGED, NAT, GATEWAY, INTERFACE, BLOCKED, ISOLATED)
"""All path labels, from most open to most closed (for legends and colour maps)."""


@dataclass(frozen=True)
class Destination:
    """Something a container may want to talk to. ``service`` is the part of the VPC
    endpoint service name after ``com.amazonaws.<region>.`` (None for the internet)."""

    key: str
    label: str
    service: str | None


DESTINATIONS: tuple[Destination, ...] = (
    Destination("internet", "Internet (pip, Git)", None),
    Destination("s3", "Amazon S3", "s3"),
    Destination("sagemaker.api", "SageMaker API", "sagemaker.api"),
    Destination("sagemaker.runtime", "SageMaker Runtime", "sagemaker.runtime"),
    Destination("sts", "AWS STS", "sts"),
    Destination("logs", "CloudWatch Logs", "logs"),
    Destination("ecr.api", "ECR API", "ecr.api"),
    Destination("ecr.dkr", "ECR registry", "ecr.dkr"),
)
"""What a training container typically needs: packages from the internet, data in S3,
the SageMaker API and runtime, credentials from STS, logs, and images from ECR."""

VPC_ONLY_SERVICES = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr")
"""Interface endpoints a VPC without internet access needs for SageMaker (S3 comes as a
gateway endpoint)."""


# --------------------------------------------------------------------------- snapshot
@dataclass(frozen=True)
class Rule:
    """One security-group rule (ingress or egress), flattened from the EC2 shape."""

    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def from_permission(cls, perm: Mapping[str, Any]) -> Rule:
        """Build a rule from one ``IpPermissions`` / ``IpPermissionsEgress`` entry."""
        return cls(
            protocol=str(perm.get("IpProtocol", "-1")),
            from_port=perm.get("FromPort"),
            to_port=perm.get("ToPort"),
            cidrs=tuple(r["CidrIp"] for r in perm.get("IpRanges", [])),
            prefix_lists=tuple(p["PrefixListId"] for p in perm.get("PrefixListIds", [])),
            groups=tuple(g["GroupId"] for g in perm.get("UserIdGroupPairs", [])),
        )

    def covers_https(self) -> bool:
        """True if the rule's protocol and port range include TCP 443."""
        if self.protocol in ("-1", "all"):
            return True
        if self.protocol not in ("tcp", "6"):
            return False
        low = -1 if self.from_port is None else self.from_port
        high = 65535 if self.to_port is None else self.to_port
        return low == -1 or low <= HTTPS_PORT <= high


@dataclass(frozen=True)
class SecurityGroup:
    """A security group's id and its rules."""

    id: str
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Route:
    """A route: ``destination`` is a CIDR or a prefix-list id, ``target`` an id such as
    ``local``, ``igw-…``, ``nat-…`` or ``vpce-…``."""

    destination: str
    target: str


@dataclass(frozen=True)
class Endpoint:
    """A VPC endpoint, with ``service`` shortened to e.g. ``"sagemaker.api"``."""

    id: str
    service: str
    kind: str  # "Interface" or "Gateway"
    subnet_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    private_dns: bool = False
    state: str = "available"


@dataclass(frozen=True)
class Network:
    """What :func:`reachability` needs to know about one VPC."""

    vpc_id: str
    cidr: str
    dns_support: bool = True
    subnets: Mapping[str, str] = field(default_factory=dict)  # subnet id -> CIDR
    subnet_route_table: Mapping[str, str] = field(default_factory=dict)
    route_tables: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)
    security_groups: Mapping[str, SecurityGroup] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()
    nat_gateways: Mapping[str, tuple[str, str]] = field(
        default_factory=dict
    )  # id->(subnet, state)
    prefix_lists: Mapping[str, str] = field(default_factory=dict)  # pl id -> service

    def routes_of(self, subnet_id: str) -> tuple[Route, ...]:
        """The routes that apply to a subnet (its own table, else the main table)."""
        table = self.subnet_route_table.get(subnet_id)
        return self.route_tables.get(table, ()) if table else ()


def short_service(name: str) -> str:
    """``com.amazonaws.us-east-1.sagemaker.api`` -> ``sagemaker.api``."""
    parts = name.split(".")
    if len(parts) >= 4 and parts[0] == "com" and parts[1] == "amazonaws":
        return ".".join(parts[3:])
    return name


def describe_network(ec2: Any, vpc_id: str) -> Network:
    """Read one VPC's subnets, route tables, security groups, endpoints, NAT gateways and
    AWS-managed prefix lists with ``describe_*`` calls into a :class:`Network`."""
    try:
        vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except ClientError as exc:
        if "NotFound" not in exc.response.get("Error", {}).get("Code", ""):
            raise
        vpcs = []
    if not vpcs:
        raise LabKitError(f"VPC {vpc_id} was not found.", "check the VPC id and region.")
    flt = [{"Name": "vpc-id", "Values": [vpc_id]}]
    dns = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
    subnets = {s["SubnetId"]: s["CidrBlock"] for s in ec2.describe_subnets(Filters=flt)["Subnets"]}

    tables: dict[str, tuple[Route, ...]] = {}
    explicit: dict[str, str] = {}
    main_table = ""
    for table in ec2.describe_route_tables(Filters=flt)["RouteTables"]:
        tid = table["RouteTableId"]
        tables[tid] = tuple(
            Route(
                r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId", ""),
                r.get("GatewayId") or r.get("NatGatewayId") or r.get("VpcEndpointId", ""),
            )
            for r in table.get("Routes", [])
            if r.get("State", "active") == "active"
        )
        for assoc in table.get("Associations", []):
            if assoc.get("Main"):
                main_table = tid
            elif assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = tid
    subnet_table = {s: explicit.get(s, main_table) for s in subnets}

    groups = {
        g["GroupId"]: SecurityGroup(
            g["GroupId"],
            tuple(Rule.from_permission(p) for p in g.get("IpPermissions", [])),
            tuple(Rule.from_permission(p) for p in g.get("IpPermissionsEgress", [])),
        )
        for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]
    }
    endpoints = tuple(
        Endpoint(
            id=e["VpcEndpointId"],
            service=short_service(e["ServiceName"]),
            kind=e.get("VpcEndpointType", "Gateway"),
            subnet_ids=tuple(e.get("SubnetIds", [])),
            route_table_ids=tuple(e.get("RouteTableIds", [])),
            security_group_ids=tuple(g["GroupId"] for g in e.get("Groups", [])),
            private_dns=bool(e.get("PrivateDnsEnabled", False)),
            state=str(e.get("State", "available")).lower(),
        )
        for e in ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
    )
    nats = {
        n["NatGatewayId"]: (n["SubnetId"], n.get("State", "available"))
        for n in ec2.describe_nat_gateways(Filters=flt)["NatGateways"]
    }
    prefix_lists = {
        p["PrefixListId"]: short_service(p["PrefixListName"])
        for p in ec2.describe_prefix_lists()["PrefixLists"]
    }
    return Network(
        vpc_id=vpc_id,
        cidr=vpcs[0]["CidrBlock"],
        dns_support=bool(dns["EnableDnsSupport"]["Value"]),
        subnets=subnets,
        subnet_route_table=subnet_table,
        route_tables=tables,
        security_groups=groups,
        endpoints=endpoints,
        nat_gateways=nats,
        prefix_lists=prefix_lists,
    )


# --------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class JobNetwork:
    """The network settings of a job: no subnets means no ``VpcConfig``."""

    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    network_isolation: bool = False

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> JobNetwork:
        """Read ``VpcConfig`` and ``EnableNetworkIsolation`` from a Describe* response
        (training, processing's ``NetworkConfig``, or a model)."""
        net = description.get("NetworkConfig") or {}
        vpc = description.get("VpcConfig") or net.get("VpcConfig") or {}
        isolated = description.get("EnableNetworkIsolation", net.get("EnableNetworkIsolation"))
        return cls(
            subnets=tuple(vpc.get("Subnets", [])),
            security_group_ids=tuple(vpc.get("SecurityGroupIds", [])),
            network_isolation=bool(isolated),
        )


@dataclass(frozen=True)
class Verdict:
    """Whether a destination is reachable, by which path (one of :data:`PATHS`), and why."""

    destination: str
    reachable: bool
    path: str
    reason: str


# --------------------------------------------------------------------------- analysis
def _contains(cidr: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip in ipaddress.ip_network(cidr, strict=False)


def _covers_net(cidr: str, inner: str) -> bool:
    outer_net = ipaddress.ip_network(cidr, strict=False)
    inner_net = ipaddress.ip_network(inner, strict=False)
    return inner_net.version == outer_net.version and inner_net.subnet_of(outer_net)  # type: ignore[arg-type]


def _https(rules: Iterable[Rule]) -> list[Rule]:
    return [r for r in rules if r.covers_https()]


def _egress_rules(net: Network, group_ids: Iterable[str]) -> list[Rule]:
    rules: list[Rule] = []
    for gid in group_ids:
        if gid not in net.security_groups:
            raise LabKitError(
                f"Security group {gid} is not in VPC {net.vpc_id}.",
                "pass the security groups of the same VPC as the job's subnets.",
            )
        rules += _https(net.security_groups[gid].egress)
    return rules


def _egress_to_internet(rules: list[Rule], service: str | None, net: Network) -> bool:
    for rule in rules:
        if any(_contains(c, PUBLIC_PROBE_IP) for c in rule.cidrs):
            return True
        if service and any(net.prefix_lists.get(p) == service for p in rule.prefix_lists):
            return True
    return False


def _via_default_route(
    net: Network, subnet: str, rules: list[Rule], service: str | None
) -> tuple[bool, str, str]:
    default = [r for r in net.routes_of(subnet) if r.destination in ("0.0.0.0/0", "::/0")]
    if not default:
        return False, BLOCKED, f"{subnet} has no route out of the VPC (no NAT, no gateway)"
    target = default[0].target
    if target.startswith("igw-"):
        return (
            False,
            BLOCKED,
            (
                f"{subnet} routes to {target}, but SageMaker gives its network interfaces "
                "private addresses only, so an internet gateway alone does not work"
            ),
        )
    if target.startswith("nat-"):
        nat_subnet, state = net.nat_gateways.get(target, ("", "missing"))
        if state != "available":
            return False, BLOCKED, f"NAT gateway {target} is {state}"
        if not any(
            r.destination == "0.0.0.0/0" and r.target.startswith("igw-")
            for r in net.routes_of(nat_subnet)
        ):
            return (
                False,
                BLOCKED,
                f"NAT gateway {target} sits in a subnet without an internet gateway route",
            )
        if not _egress_to_internet(rules, service, net):
            return False, BLOCKED, "no security-group rule allows HTTPS to the internet"
        return True, NAT, f"{subnet} -> {target} -> internet gateway"
    return (
        False,
        BLOCKED,
        f"the default route of {subnet} goes to {target}, which leads nowhere public",
    )


def _via_interface(
    net: Network, subnet: str, groups: tuple[str, ...], rules: list[Rule], ep: Endpoint
) -> tuple[bool, str, str]:
    ep_cidrs = [net.subnets[s] for s in ep.subnet_ids if s in net.subnets]
    out_ok = any(
        any(_covers_net(c, ec) for c in r.cidrs for ec in ep_cidrs)
        or any(g in ep.security_group_ids for g in r.groups)
        for r in rules
    )
    if not out_ok:
        return False, BLOCKED, f"DNS points at {ep.id}, but no egress rule allows HTTPS to it"
    ingress = [r for g in ep.security_group_ids for r in _https(net.security_groups[g].ingress)]
    in_ok = any(
        any(_covers_net(c, net.subnets[subnet]) for c in r.cidrs)
        or any(g in groups for g in r.groups)
        for r in ingress
    )
    if not in_ok:
        return False, BLOCKED, f"the security group of {ep.id} does not admit HTTPS from the job"
    return True, INTERFACE, f"private DNS -> {ep.id}"


def _reach_from_subnet(
    net: Network, subnet: str, job: JobNetwork, dest: Destination
) -> tuple[bool, str, str]:
    rules = _egress_rules(net, job.security_group_ids)
    service = dest.service
    if service is None:
        return _via_default_route(net, subnet, rules, None)
    live = [e for e in net.endpoints if e.service == service and e.state == "available"]
    for ep in live:
        if ep.kind == "Interface" and ep.private_dns and net.dns_support:
            return _via_interface(net, subnet, job.security_group_ids, rules, ep)
    gateways = {e.id for e in live if e.kind == "Gateway"}
    for route in net.routes_of(subnet):
        if route.target in gateways:
            allowed = any(
                net.prefix_lists.get(p) == service or p == route.destination
                for r in rules
                for p in r.prefix_lists
            ) or _egress_to_internet(rules, service, net)
            if allowed:
                return True, GATEWAY, f"route {route.destination} -> {route.target}"
            return (
                False,
                BLOCKED,
                (
                    f"the route to {route.target} exists, but no egress rule allows the "
                    f"{service} prefix list"
                ),
            )
    return _via_default_route(net, subnet, rules, service)


def reachability(
    network: Network | None,
    job: JobNetwork,
    destinations: Iterable[Destination] = DESTINATIONS,
) -> dict[str, Verdict]:
    """For each destination: can the job's container reach it, how, and why (or why not).

    ``network`` may be None when the job has no ``VpcConfig``. A destination counts as
    reachable only if it is reachable from *every* subnet of the job, because SageMaker may
    place an instance in any of them.
    """
    result: dict[str, Verdict] = {}
    for dest in destinations:
        if job.network_isolation:
            result[dest.key] = Verdict(
                dest.key,
                False,
                ISOLATED,
                "EnableNetworkIsolation: the container has no network; SageMaker itself "
                "still moves the input data and model artifacts",
            )
            continue
        if not job.subnets:
            result[dest.key] = Verdict(
                dest.key,
                True,
                MANAGED,
                "no VpcConfig: the job runs in a SageMaker-owned VPC with internet access",
            )
            continue
        if network is None:
            raise LabKitError(
                "The job has a VpcConfig but no network snapshot was given.",
                "pass describe_network(ec2, vpc_id) for the VPC of the job's subnets.",
            )
        missing = [s for s in job.subnets if s not in network.subnets]
        if missing:
            raise LabKitError(
                f"Subnets {missing} are not in VPC {network.vpc_id}.",
                "describe the VPC that the job's subnets belong to.",
            )
        answers = [_reach_from_subnet(network, s, job, dest) for s in job.subnets]
        if len({(ok, path) for ok, path, _ in answers}) == 1:
            ok, path, why = answers[0]
        else:
            ok, path = False, BLOCKED
            why = "differs between subnets: " + "; ".join(w for _, _, w in answers)
        result[dest.key] = Verdict(dest.key, ok, path, why)
    return result


# --------------------------------------------------------------------------- cleanup
def delete_vpc(ec2: Any, vpc_id: str, wait_seconds: float = 300.0) -> None:
    """Delete a VPC and what it contains, in the order EC2 requires: endpoints and NAT
    gateways (waiting up to ``wait_seconds`` each until they are gone, then releasing the
    NAT's Elastic IPs), internet gateways, security-group cross references and groups,
    route-table associations and tables, subnets, and finally the VPC."""
    flt = [{"Name": "vpc-id", "Values": [vpc_id]}]
    eps = [
        e["VpcEndpointId"]
        for e in ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
        if e.get("State", "").lower() not in ("deleted", "deleting")
    ]
    if eps:
        ec2.delete_vpc_endpoints(VpcEndpointIds=eps)
    deadline = time.monotonic() + wait_seconds
    while eps and time.monotonic() < deadline:  # their network interfaces go with them
        left = [
            e
            for e in ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
            if e.get("State", "").lower() != "deleted"
        ]
        if not left:
            break
        time.sleep(5)
    nats = [
        n
        for n in ec2.describe_nat_gateways(Filters=flt)["NatGateways"]
        if n.get("State") not in ("deleted", "deleting")
    ]
    for nat in nats:
        ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    deadline = time.monotonic() + wait_seconds
    while nats and time.monotonic() < deadline:
        states = [
            n.get("State")
            for n in ec2.describe_nat_gateways(NatGatewayIds=[n["NatGatewayId"] for n in nats])[
                "NatGateways"
            ]
        ]
        if all(s == "deleted" for s in states):
            break
        time.sleep(5)
    for nat in nats:
        for address in nat.get("NatGatewayAddresses", []):
            if address.get("AllocationId"):
                ec2.release_address(AllocationId=address["AllocationId"])
    for igw in ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    )["InternetGateways"]:
        ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
        ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
    groups = [
        g
        for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]
        if g["GroupName"] != "default"
    ]
    for group in groups:  # references between groups must go before the groups
        for key, revoke in (
            ("IpPermissions", ec2.revoke_security_group_ingress),
            ("IpPermissionsEgress", ec2.revoke_security_group_egress),
        ):
            refs = [p for p in group.get(key, []) if p.get("UserIdGroupPairs")]
            if refs:
                revoke(GroupId=group["GroupId"], IpPermissions=refs)
    for group in groups:
        ec2.delete_security_group(GroupId=group["GroupId"])
    for table in ec2.describe_route_tables(Filters=flt)["RouteTables"]:
        if any(a.get("Main") for a in table.get("Associations", [])):
            continue
        for assoc in table.get("Associations", []):
            ec2.disassociate_route_table(AssociationId=assoc["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table["RouteTableId"])
    for subnet in ec2.describe_subnets(Filters=flt)["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc_id)


# --------------------------------------------------------------------------- a real "no network"
_PROBE = r"""
import json, socket, sys
host, address = sys.argv[1], sys.argv[2]
result = {"interfaces": sorted(name for _, name in socket.if_nameindex())}
try:
    socket.getaddrinfo(host, 443)
    result["dns"] = "resolved"
except OSError as exc:
    result["dns"] = f"{type(exc).__name__}: {exc}"
try:
    socket.create_connection((address, 443), timeout=2).close()
    result["connect"] = "connected"
except OSError as exc:
    result["connect"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(result))
"""


def _unshare_command() -> list[str]:
    """``unshare`` with a new, empty network namespace (and a user namespace when not root,
    so that no privilege is needed where the kernel allows unprivileged namespaces)."""
    command = ["unshare", "--net"]
    if os.geteuid() != 0:
        command.append("--map-root-user")
    return command


def network_namespace_available() -> bool:
    """True if this machine can start a process in a fresh network namespace (Linux with
    ``unshare`` and namespaces allowed). SageMaker Studio and most containers say no."""
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(
            [*_unshare_command(), "true"], check=False, capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def probe_without_network(host: str, address: str) -> dict[str, Any]:
    """Run a tiny Python probe in a new network namespace — the kernel mechanism behind
    ``docker run --network none`` — and report its interfaces, whether ``host`` resolves
    and whether TCP 443 on ``address`` connects. Nothing can leave the namespace."""
    if not network_namespace_available():
        raise LabKitError(
            "This machine cannot start a process in a new network namespace.",
            "run on Linux with util-linux's 'unshare' and namespaces allowed "
            "(sysctl kernel.unprivileged_userns_clone=1), or skip this step.",
        )
    done = subprocess.run(
        [*_unshare_command(), sys.executable, "-c", _PROBE, host, address],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise LabKitError(
            f"The isolated probe failed: {done.stderr.strip()[-300:]}",
            "check that the Python interpreter runs inside 'unshare --net'.",
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result
