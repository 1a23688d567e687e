"""The local backend sends nothing off this machine, even with real-looking AWS credentials.

Two layers: in this process, every socket connection is recorded while a lab makes calls to
several services (below); and every lab's kernel, under nbval, logs each connection and name
lookup of its Python processes through an audit hook (tests/offline/audit/sitecustomize.py),
which conftest.py checks after the lab's two runs (lab 00's kernel also holds real-looking
credentials). So no lab runs a third time to be checked.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import labkit

REAL_LOOKING = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


def is_on_this_machine(target: object) -> bool:
    """Unix sockets and loopback addresses are on this machine; nothing else is."""
    if isinstance(target, str):  # AF_UNIX path (the Docker engine's socket)
        return True
    host = str(target[0]) if isinstance(target, (list, tuple)) and target else str(target)
    if host in ("localhost", "None", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def test_classifier_of_destinations():
    assert is_on_this_machine("/var/run/docker.sock")
    assert is_on_this_machine(["127.0.0.1", 8080])
    assert is_on_this_machine(["::1", 80, 0, 0])
    assert not is_on_this_machine(["52.216.0.1", 443])
    assert not is_on_this_machine(["sts.amazonaws.com", 443])


def test_lab_calls_stay_in_process(monkeypatch, tmp_path):
    for key, value in REAL_LOOKING.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("COURSE_BACKEND", raising=False)
    seen: list[object] = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        seen.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    lab = labkit.start_lab("98-offline-test", quiet=True)
    try:
        assert lab.region == "eu-west-1"
        bucket = lab.bucket()
        lab.client("s3").put_object(Bucket=bucket, Key="k", Body=b"v")
        assert lab.client("sts").get_caller_identity()["Account"] == "123456789012"
        lab.client("iam").list_roles()
        lab.client("sagemaker").list_training_jobs()
        lab.client("stepfunctions").list_state_machines()
        lab.sagemaker_session()
    finally:
        lab.cleanup(verbose=False)
    off_machine = [a for a in seen if not is_on_this_machine(a)]
    assert off_machine == []
    assert os.environ["AWS_ACCESS_KEY_ID"] == REAL_LOOKING["AWS_ACCESS_KEY_ID"]  # restored
