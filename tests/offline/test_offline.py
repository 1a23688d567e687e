"""The local backend sends nothing off this machine, even with real-looking AWS credentials.

Two layers: in this process, every socket connection is recorded while a lab makes calls to
several services; and lab 00 is executed in a fresh kernel whose Python processes record
every connection and name lookup through an audit hook (tests/offline/audit/sitecustomize.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import labkit
from labkit.docker import docker_status
from labkit.paths import LABS_DIR

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


@pytest.mark.docker
@pytest.mark.skipif(not docker_status().ok, reason="lab 00 needs a Docker engine")
def test_lab00_in_a_fresh_kernel_talks_only_to_this_machine(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    log = tmp_path / "network.jsonl"
    audit_dir = Path(__file__).parent / "audit"
    env = {
        **os.environ,
        **REAL_LOOKING,
        "NETWORK_AUDIT_LOG": str(log),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(audit_dir), os.environ.get("PYTHONPATH")])),
        "COURSE_WORKDIR": str(tmp_path / "work"),
    }
    env.pop("COURSE_BACKEND", None)
    notebook = LABS_DIR / "00-getting-started" / "00-check-environment.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    old_env = os.environ.copy()
    started = int(time.time())
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this environment
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events, "the audit hook recorded nothing: the test would not see a leak"
    starts = [e for e in events if e["event"] == "start"]
    off_machine = [e for e in events
                   if e["event"] != "start" and not is_on_this_machine(e["target"])]
    assert off_machine == [], off_machine
    # The kernel that ran the lab was this environment's Python (its packages, the audit
    # hook loaded in it), not another interpreter on the PATH.
    kernels = [e for e in starts if e["argv"][:1] == ["-m"]]  # python -m ipykernel_launcher
    assert [e["prefix"] for e in kernels] == [sys.prefix], json.dumps(starts)
    # The Docker daemon pulled nothing while the lab ran (its containers talk through a
    # Unix socket the audit hook counts as local, so ask the daemon itself).
    pulls = subprocess.run(
        ["docker", "events", "--since", str(started), "--until", str(int(time.time()) + 1),
         "--filter", "type=image", "--filter", "event=pull", "--format", "{{json .}}"],
        capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert pulls == [], pulls
