import subprocess
from pathlib import Path

import pytest

from labkit import docker
from labkit.errors import DockerUnavailableError, LabKitError


def fake_run(answers):
    """A stand-in for subprocess.run that answers by the command's first words."""

    def run(cmd, **kwargs):
        for prefix, (code, out, err) in answers.items():
            if tuple(cmd[: len(prefix)]) == prefix:
                return subprocess.CompletedProcess(cmd, code, out, err)
        return subprocess.CompletedProcess(cmd, 127, "", "not found")

    return run


def test_status_when_docker_is_not_installed(monkeypatch):
    monkeypatch.setattr(docker.shutil, "which", lambda name: None)
    status = docker.docker_status()
    assert not status.ok
    assert "not installed" in status.problems[0]
    with pytest.raises(DockerUnavailableError) as info:
        monkeypatch.setattr(docker, "docker_status", lambda: status)
        docker.require_docker()
    assert "What to do" in str(info.value) and "docker.io" in str(info.value)


def test_status_when_the_engine_is_down_and_compose_missing(monkeypatch):
    monkeypatch.setattr(docker.shutil, "which", lambda name: "/usr/bin/docker" if name == "docker" else None)
    monkeypatch.setattr(docker.subprocess, "run", fake_run({
        ("docker", "version"): (1, "", "Cannot connect to the Docker daemon"),
        ("docker", "compose"): (1, "", "unknown command"),
    }))
    status = docker.docker_status()
    assert status.engine_version is None
    assert any("not running" in p for p in status.problems)
    assert any("compose" in p for p in status.problems)


def test_status_prefers_the_compose_plugin_then_the_standalone(monkeypatch):
    monkeypatch.setattr(docker.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(docker.subprocess, "run", fake_run({
        ("docker", "version"): (0, "20.10.24\n", ""),
        ("docker", "compose"): (1, "", "unknown command"),
        ("docker-compose", "version"): (0, "1.29.2\n", ""),
    }))
    status = docker.docker_status()
    assert status.ok
    assert status.compose_command == ["docker-compose"]
    assert status.compose_version == "1.29.2"


def test_base_image_override_and_offline_preference(monkeypatch):
    monkeypatch.setenv("COURSE_BASE_IMAGE", "my/base:1")
    assert docker.base_image() == "my/base:1"
    monkeypatch.delenv("COURSE_BASE_IMAGE")
    monkeypatch.setattr(docker, "image_exists", lambda tag: True)
    assert docker.base_image() == docker.OFFLINE_BASE_IMAGE
    monkeypatch.setattr(docker, "image_exists", lambda tag: False)
    assert docker.base_image() == docker.PUBLIC_BASE_IMAGE


def test_context_hash_follows_content(tmp_path: Path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = docker.context_hash(tmp_path, "base")
    assert docker.context_hash(tmp_path, "base") == first
    assert docker.context_hash(tmp_path, "other-base") != first
    (tmp_path / "train").write_text("echo hi\n")
    assert docker.context_hash(tmp_path, "base") != first


def test_build_without_dockerfile_names_the_known_images(monkeypatch, tmp_path):
    monkeypatch.setattr(docker, "require_docker", lambda: docker.DockerStatus())
    with pytest.raises(LabKitError, match="No Dockerfile") as info:
        docker.build_image("nope", tmp_path)
    assert "hello-train" in str(info.value)


def test_remove_containers_since_removes_only_new_ones_this_process_started(
        monkeypatch, tmp_path):
    """New containers whose compose folder is under the scope go; old ones, containers
    without a compose folder (someone's `docker run`) and another session's stay."""
    mine = tmp_path / "tmpabc"
    mine.mkdir()
    other = tmp_path.parent / f"{tmp_path.name}-other"
    calls = []
    monkeypatch.setattr(docker, "container_ids",
                        lambda: {"old", "new1", "new2", "theirs", "plain"})
    monkeypatch.setattr(docker, "compose_working_dirs", lambda ids: {
        "new1": str(mine), "new2": str(tmp_path), "theirs": str(other), "plain": "",
        "old": str(mine)})
    monkeypatch.setattr(docker, "_run", lambda cmd, **kw: calls.append(cmd))
    assert docker.remove_containers_since({"old"}, scope=str(tmp_path)) == ["new1", "new2"]
    assert calls == [["docker", "rm", "-f", "new1", "new2"]]
    calls.clear()
    everything = {"old", "new1", "new2", "theirs", "plain"}
    assert docker.remove_containers_since(everything, scope=str(tmp_path)) == []
    assert calls == []


def test_remove_containers_since_defaults_to_this_process_temporary_folder(monkeypatch,
                                                                            tmp_path):
    monkeypatch.setattr(docker.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(docker, "container_ids", lambda: {"a", "b"})
    monkeypatch.setattr(docker, "compose_working_dirs", lambda ids: {
        "a": str(tmp_path / "tmpx"), "b": "/somewhere/else"})
    monkeypatch.setattr(docker, "_run", lambda cmd, **kw: None)
    assert docker.remove_containers_since(set()) == ["a"]


def test_compose_working_dirs_reads_the_compose_label(monkeypatch):
    seen = []

    def run(cmd, **kw):
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "id1 /tmp/tmpq\nid2 <no value>\n", "")

    monkeypatch.setattr(docker, "_run", run)
    assert docker.compose_working_dirs({"id1", "id2"}) == {"id1": "/tmp/tmpq", "id2": ""}
    assert "com.docker.compose.project.working_dir" in seen[0][3]
    assert docker.compose_working_dirs(set()) == {}


needs_docker = pytest.mark.skipif(not docker.docker_status().ok, reason="needs a Docker engine")


@pytest.mark.docker
@needs_docker
def test_build_is_cached_and_tagged_by_content():
    first = docker.build_image("hello-train")
    second = docker.build_image("hello-train")
    assert first.tag == second.tag
    assert first.tag.startswith("mlecourse/hello-train:")
    assert docker.image_exists(first.tag)


@pytest.mark.docker
@needs_docker
def test_hello_train_writes_the_failure_file_on_an_empty_channel(tmp_path):
    image = docker.build_image("hello-train").tag
    (tmp_path / "input" / "data" / "train").mkdir(parents=True)
    (tmp_path / "output").mkdir()
    run = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{tmp_path}:/opt/ml", image],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode != 0
    assert "no CSV file" in (tmp_path / "output" / "failure").read_text()


@pytest.mark.docker
@needs_docker
def test_hello_train_rejects_a_ragged_csv(tmp_path):
    image = docker.build_image("hello-train").tag
    train = tmp_path / "input" / "data" / "train"
    train.mkdir(parents=True)
    (train / "bad.csv").write_text("a,b\n1,2\n3\n")
    run = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{tmp_path}:/opt/ml", image],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode != 0
    assert "has 1 columns, expected 2" in run.stderr
    assert (tmp_path / "output" / "failure").exists()
    assert not (tmp_path / "model" / "model.json").exists() or (tmp_path / "model" / "model.json").read_text() == ""


@pytest.mark.docker
@pytest.mark.skipif(not docker.docker_status().ok, reason="needs a Docker engine")
def test_networks_a_lab_made_are_removed_and_others_kept():
    import subprocess
    import uuid

    before = docker.network_names()
    name = f"labkit-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "network", "create", name], check=True, capture_output=True)
    try:
        assert docker.remove_networks_since(before) == [name]
        assert name not in docker.network_names()
        assert before <= docker.network_names()
    finally:
        subprocess.run(["docker", "network", "rm", name], capture_output=True)


def test_an_image_for_aws_is_built_for_x86_64_without_host_networking(monkeypatch, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    seen = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    monkeypatch.setattr(docker, "require_docker", lambda: None)
    monkeypatch.setattr(docker, "base_image", lambda: "debian:bookworm-slim")
    monkeypatch.setattr(docker, "_run", lambda cmd, **kw: seen.append(cmd) or Done())
    monkeypatch.setenv("COURSE_BACKEND", "aws")
    docker.build_image("x", tmp_path)
    monkeypatch.setenv("COURSE_BACKEND", "local")
    docker.build_image("x", tmp_path)
    aws, local = seen[0], seen[-1]
    assert aws[aws.index("--platform") + 1] == "linux/amd64" and "host" not in aws
    assert local[local.index("--network") + 1] == "host"
