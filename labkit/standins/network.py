"""Plumbing and a stand-in for lab 04 (VPC isolation).

* :func:`delete_vpc` removes a VPC and everything in it in the order EC2 requires (the
  lab's clean-up; it works the same on moto and on a real account).
* :func:`probe_without_network` stands in for what ``EnableNetworkIsolation`` does to a
  container: it runs a tiny probe in a new, empty Linux network namespace (the kernel
  feature behind ``docker run --network none``) and reports what it could reach.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from labkit.errors import LabKitError


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
            eni = address.get("NetworkInterfaceId")
            left = ec2.describe_network_interfaces(
                Filters=[{"Name": "network-interface-id", "Values": [eni or "-"]}]
            )["NetworkInterfaces"]
            if left:  # AWS removes a NAT gateway's interface with it; moto keeps it
                ec2.delete_network_interface(NetworkInterfaceId=eni)
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
