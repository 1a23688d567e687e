"""The offline classroom: the course installs from a wheelhouse with the network off, and the
course's images survive a ``docker save`` / ``docker load`` round trip.

The wheelhouse is made from this environment (tools/wheelhouse_from_env.py: the installed
distributions repacked, labkit built with ``pip wheel . --no-deps``), so the test itself
downloads nothing. The install runs in a new network namespace (``unshare -n``) where the
machine allows it, and otherwise with every proxy pointed at a closed local port; either way
``--no-index`` keeps pip off any index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import classroom_bundle  # noqa: E402
import wheelhouse_from_env  # noqa: E402


def offline(cmd: list[str]) -> list[str]:
    """``cmd`` in a namespace with no network, where this machine lets us make one."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n", *cmd]
    return cmd


def offline_env() -> dict[str, str]:
    env = dict(os.environ)
    closed = "http://127.0.0.1:9"  # discard port: nothing listens, any request fails at once
    env.update({"HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed,
                "https_proxy": closed, "PIP_NO_INDEX": "1", "NO_PROXY": ""})
    env.pop("PIP_INDEX_URL", None)
    env.pop("PIP_EXTRA_INDEX_URL", None)
    return env


def test_course_installs_from_a_wheelhouse_with_the_network_off(tmp_path):
    wheels = tmp_path / "wheels"
    made = wheelhouse_from_env.make(wheels, ["labkit"])
    names = {p.name.split("-")[0].lower() for p in made}
    assert {"labkit", "boto3", "botocore", "moto"} <= names, names

    venv = tmp_path / "learner-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The documented command, with pip run from this environment against the new one.
    install = [sys.executable, "-m", "pip", "--python", str(python), "install",
               "--no-index", "--find-links", str(wheels), "--no-compile", "--quiet", "labkit"]
    result = subprocess.run(offline(install), env=offline_env(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    probe = ("import labkit, boto3, moto; from moto import mock_aws\n"
             "with mock_aws():\n"
             "    s3 = boto3.client('s3', region_name='us-east-1')\n"
             "    s3.create_bucket(Bucket='mlecourse-98-bundle')\n"
             "    print(labkit.__file__, len(s3.list_buckets()['Buckets']))\n")
    env = offline_env() | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run(offline([str(python), "-c", probe]), env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where, buckets = done.stdout.split()
    assert where.startswith(str(venv)), f"labkit came from {where}, not the new environment"
    assert buckets == "1"


def test_bundle_writes_the_documented_install_steps(tmp_path):
    assert classroom_bundle.main(["--out", str(tmp_path), "--no-wheels", "--no-images"]) == 0
    steps = (tmp_path / "INSTALL.md").read_text(encoding="utf-8")
    assert "pip install --no-index --find-links" in steps
    assert "docker load -i" in steps
    assert (tmp_path / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()


def test_wheelhouse_requirements_leave_out_the_editable_install(tmp_path, monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(classroom_bundle, "run", lambda cmd, **kw: calls.append(cmd))
    classroom_bundle.make_wheelhouse(tmp_path / "wheels", ROOT / "requirements.txt",
                                     sys.executable, [])
    pinned = (tmp_path / "requirements-pinned.txt").read_text(encoding="utf-8")
    assert "-e" not in pinned.split() and "sagemaker==" in pinned
    assert "setuptools" in pinned  # labkit's build backend, for `-e .` with no index
    assert calls[0][2:4] == ["pip", "download"] and calls[1][2:4] == ["pip", "wheel"]


@pytest.mark.docker
def test_a_course_image_survives_docker_save_and_load(tmp_path):
    from labkit.docker import docker_status

    if not docker_status().ok:
        pytest.skip("no Docker engine")
    images = classroom_bundle.course_images()
    if not images:
        pytest.skip("no course image built on this engine yet")

    def size(tag: str) -> int:
        out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", tag],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip())

    source = min(images, key=size)
    image_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", source],
                              capture_output=True, text=True, check=True).stdout.strip()
    scratch = f"mlecourse-bundle-test/roundtrip:{os.getpid()}"  # never a lab's own tag
    subprocess.run(["docker", "tag", source, scratch], check=True)
    try:
        archive = tmp_path / "images.tar"
        classroom_bundle.save_images([scratch], archive)
        assert archive.stat().st_size > 1_000_000
        subprocess.run(["docker", "rmi", scratch], check=True, capture_output=True)
        gone = subprocess.run(["docker", "image", "inspect", scratch], capture_output=True)
        assert gone.returncode != 0
        subprocess.run(["docker", "load", "-i", str(archive)], check=True, capture_output=True)
        back = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", scratch],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert back == image_id
    finally:
        subprocess.run(["docker", "rmi", scratch], capture_output=True)
