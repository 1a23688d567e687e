"""labkit.localmode (plumbing) and what lab 06 teaches in its #@save cells.

No Docker needed: fakes, a tiny HTTP server and moto. Lab 06's requests are checked
against botocore's own model of the SageMaker API, with the names the lab makes on AWS
in a 14-character Region (issue 22: transform-job names must fit 63 characters).
"""

from __future__ import annotations

import http.server
import io
import re
import shutil
import socket
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from labkit import lessons, localmode
from labkit.backend import Backend
from labkit.errors import LabKitError
from labkit.requests import request_problems
from labkit.session import Lab, lab_context

LAB06 = "06-bring-your-own-container-r"


@pytest.fixture(autouse=True)
def _scratch_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_BACKEND", "local")
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path / "work"))


@pytest.fixture(scope="module")
def byoc() -> Any:
    return lessons.load(LAB06)


# ----------------------------------------------------------------------------- ports and ping
@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_port_in_use(listening_port: int) -> None:
    assert localmode.serving_port_in_use(listening_port)
    with pytest.raises(LabKitError, match=f"Port {listening_port}"):
        localmode.require_free_serving_port(listening_port)


def test_free_port_is_free() -> None:
    port = localmode.free_port()
    assert 1024 <= port <= 65535
    assert not localmode.serving_port_in_use(port)
    localmode.require_free_serving_port(port)


class _Ping(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(self.status if self.path == "/ping" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ping_server() -> Iterator[tuple[str, type[_Ping]]]:
    handler = type("Handler", (_Ping,), {"status": 200})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_wait_for_ping(ping_server: tuple[str, type[_Ping]]) -> None:
    url, handler = ping_server
    assert 0 <= localmode.wait_for_ping(url, timeout=5) < 5
    handler.status = 503
    with pytest.raises(LabKitError, match="last: HTTP 503"):
        localmode.wait_for_ping(url, timeout=0.6, interval=0.1)


def test_wait_for_ping_nothing_listening() -> None:
    url = f"http://127.0.0.1:{localmode.free_port()}"
    with pytest.raises(LabKitError, match="did not answer GET /ping"):
        localmode.wait_for_ping(url, timeout=0.5, interval=0.1)


@pytest.fixture
def sdk_wait(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The SDK's local-mode entities module, put back as it was after the test."""
    from sagemaker.core.local import entities

    monkeypatch.setattr(entities, "_wait_for_serving_container",
                        entities._wait_for_serving_container)
    return entities


class _RecordedSleeps:
    """Stands in for the time module in labkit.localmode: records each sleep, waits none."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_local_mode_asks_a_starting_container_often_and_quietly(
    ping_server: tuple[str, type[_Ping]], sdk_wait: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, handler = ping_server
    answers = iter([503, 503, 503, 200])
    handler.do_GET = lambda self: (self.send_response(next(answers)), self.end_headers())
    clock = _RecordedSleeps()
    monkeypatch.setattr(localmode, "time", clock)
    monkeypatch.setattr(sdk_wait, "get_docker_host", lambda: "127.0.0.1")
    localmode.poll_serving_containers_briskly()
    localmode.poll_serving_containers_briskly()  # twice: still one replacement
    port = int(url.rsplit(":", 1)[1])
    sdk_wait._wait_for_serving_container(port, timeout=120)
    assert clock.sleeps == [localmode.PING_INTERVAL_S] * 3  # the SDK's own sleeps 5 s
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]


def test_local_mode_still_gives_up_after_its_time_limit(
    sdk_wait: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _RecordedSleeps()
    monkeypatch.setattr(localmode, "time", clock)
    monkeypatch.setattr(sdk_wait, "get_docker_host", lambda: "127.0.0.1")
    localmode.poll_serving_containers_briskly()
    with pytest.raises(RuntimeError, match="did not answer GET /ping"):  # a LabKitError
        sdk_wait._wait_for_serving_container(localmode.free_port(), timeout=3)
    assert sum(clock.sleeps) == pytest.approx(3, abs=localmode.PING_INTERVAL_S)


def test_the_sdk_still_looks_the_wait_up_by_name(sdk_wait: Any) -> None:
    """Transform jobs and endpoints call the module-level function: replacing it reaches
    both. An SDK that bound it otherwise would make the replacement a quiet no-op."""
    for caller in (sdk_wait._LocalTransformJob.start, sdk_wait._LocalEndpoint.serve):
        assert "_wait_for_serving_container" in caller.__code__.co_names, caller


# ----------------------------------------------------------------------------- folders
def test_restricted_paths_are_not_mountable() -> None:
    assert not localmode.is_mountable("/root/.cache/mle-course/x")
    assert not localmode.is_mountable("/etc/ssl")
    assert localmode.is_mountable(Path(tempfile.gettempdir()) / "anything")


def test_mountable_dir_moves_out_of_restricted_places() -> None:
    folder = localmode.mountable_dir("/root/.cache/mle-course/98-unit-test", "model")
    try:
        assert folder == Path(tempfile.gettempdir()) / "mle-course" / "98-unit-test" / "model"
        assert folder.is_dir() and not any(folder.iterdir())
        (folder / "stale.txt").write_text("old")
        again = localmode.mountable_dir("/root/.cache/mle-course/98-unit-test", "model")
        assert again == folder and not any(again.iterdir())  # fresh each time
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_mountable_dir_keeps_allowed_places(tmp_path: Path) -> None:
    assert localmode.mountable_dir(tmp_path, "out") == tmp_path / "out"


def _model_tar(path: Path, members: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_local_model_data_gets_a_folder_of_its_own(tmp_path: Path) -> None:
    archive = _model_tar(tmp_path / "model.tar.gz", {"model.rds": "x"})
    (tmp_path / "output.tar.gz").write_text("not a model")
    url = localmode.local_model_data(archive, tmp_path / "served")
    assert url == (tmp_path / "served" / "model.tar.gz").as_uri()
    assert sorted(p.name for p in (tmp_path / "served").iterdir()) == ["model.tar.gz"]
    with pytest.raises(LabKitError, match="No model archive"):
        localmode.local_model_data(tmp_path / "missing.tar.gz", tmp_path / "served")
    with pytest.raises(LabKitError, match="will not mount"):
        localmode.local_model_data(archive, "/root/.cache/mle-course/x/model")


def test_latest_job_name() -> None:
    class Job:
        training_job_name = "mlecourse-r-iris-2026-12-03-10-00-00-000"

    class Trainer:
        _latest_training_job = Job()

    assert localmode.latest_job_name(Trainer()) == Job.training_job_name
    with pytest.raises(LabKitError, match="has not run"):
        localmode.latest_job_name(object())


# ----------------------------------------------------------------------------- lab 06: names
def aws_lab(region: str = "ap-southeast-2") -> Lab:
    """A Lab object as on the aws backend, only to build names (no client is made)."""
    return Lab(name=LAB06, backend=Backend.AWS, region=region, boto_session=None,
               account_id="123456789012", workdir=Path(tempfile.gettempdir()),
               learner="abcdefgh")


def test_unique_job_name_suffix_is_base36_seconds(byoc: Any) -> None:
    # 1,700,000,000 s = s44we8 in base 36, worked by hand:
    # 28·36^5 + 4·36^4 + 4·36^3 + 32·36^2 + 14·36 + 8
    assert 28 * 36**5 + 4 * 36**4 + 4 * 36**3 + 32 * 36**2 + 14 * 36 + 8 == 1_700_000_000
    assert byoc.unique_job_name("job", now=1_700_000_000) == "job-s44we8"
    assert byoc.unique_job_name("job", now=0) == "job-000000"
    assert byoc.unique_job_name("job", now=1_700_000_001) == "job-s44we9"


def test_transform_job_name_fits_in_the_longest_regions(byoc: Any) -> None:
    lab = aws_lab("ap-southeast-2")
    base = lab.resource_name("r-batch")
    assert base == "mlecourse-06-r-batch-abcdefgh"  # the longest learner token: 8
    name = byoc.unique_job_name(base, now=1_700_000_000)
    assert name == "mlecourse-06-r-batch-abcdefgh-s44we8"
    assert len(name) == 36
    # the first name (account, region, model name and a 10-digit epoch) was 64 there
    assert len("mlecourse-06-r-iris-batch-123456789012-ap-southeast-2" + "-1700000000") == 64
    long_base = "x" * 80
    assert len(byoc.unique_job_name(long_base)) == 63


def _pattern(operation: str, member: str) -> str:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return str(model.operation_model(operation).input_shape.members[member].metadata["pattern"])


@pytest.mark.parametrize("region", ["ap-southeast-2", "us-east-1"])
def test_lab06_requests_are_valid_for_sagemaker(byoc: Any, region: str) -> None:
    lab = aws_lab(region)
    name = lab.resource_name("r-iris")
    role = "arn:aws:iam::123456789012:role/mlecourse-sagemaker-execution"
    image = f"123456789012.dkr.ecr.{region}.amazonaws.com/{lab.resource_name('r-model')}:abc"
    model, config, endpoint = byoc.endpoint_requests(
        name, image, "s3://b/model.tar.gz", role, "ml.m5.large", lab.tags)
    assert request_problems("sagemaker", "CreateModel", model) == []
    assert request_problems("sagemaker", "CreateEndpointConfig", config) == []
    assert request_problems("sagemaker", "CreateEndpoint", endpoint) == []
    assert model["PrimaryContainer"]["Environment"] == {}
    assert config["ProductionVariants"][0]["ModelName"] == name
    job = byoc.unique_job_name(lab.resource_name("r-batch"))
    transform = byoc.transform_request(job, name, "s3://b/in", "s3://b/out",
                                       "ml.m5.large", lab.tags)
    assert request_problems("sagemaker", "CreateTransformJob", transform) == []
    assert re.fullmatch(_pattern("CreateTransformJob", "TransformJobName"), job)
    assert re.fullmatch(_pattern("CreateEndpoint", "EndpointName"), name)
    # MaxConcurrentTransforms (default 1) x MaxPayloadInMB must stay within 100 MB
    assert transform["MaxPayloadInMB"] * transform.get("MaxConcurrentTransforms", 1) <= 100


def test_a_too_long_transform_name_is_caught_by_the_check(byoc: Any) -> None:
    transform = byoc.transform_request("x" * 64, "m", "s3://b/in", "s3://b/out",
                                       "ml.m5.large", [])
    assert any("TransformJobName" in p for p in
               request_problems("sagemaker", "CreateTransformJob", transform))


# ----------------------------------------------------------------------------- lab 06: calls
def test_delete_if_present_ignores_only_missing_objects(byoc: Any) -> None:
    def gone(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ValidationException",
                                     "Message": "Could not find endpoint x"}}, "DeleteEndpoint")

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException",
                                     "Message": "Rate exceeded"}}, "DeleteEndpoint")

    def no_role(**_: Any) -> None:  # IAM's NoSuchEntity, as lab 14 meets it
        raise ClientError({"Error": {"Code": "NoSuchEntity",
                                     "Message": "The role with name r cannot be found."}},
                          "DeleteRole")

    byoc.delete_if_present(gone, EndpointName="x")
    byoc.delete_if_present(no_role, RoleName="r")
    with pytest.raises(ClientError, match="Rate exceeded"):
        byoc.delete_if_present(throttled, EndpointName="x")


def test_delete_endpoint_deletes_in_order(byoc: Any) -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    class Client:
        def __getattr__(self, op: str) -> Any:
            return lambda **kw: calls.append((op, kw))

    byoc.delete_endpoint(Client(), "ep")
    assert calls == [("delete_endpoint", {"EndpointName": "ep"}),
                     ("delete_endpoint_config", {"EndpointConfigName": "ep"}),
                     ("delete_model", {"ModelName": "ep"})]


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


def test_invoke_local_answer(byoc: Any) -> None:
    sent: list[dict[str, Any]] = []

    class Runtime:
        def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            sent.append(kwargs)
            return {"Body": _Body(b"unsupported"), "ContentType": "text/plain",
                    "ResponseMetadata": {"HTTPStatusCode": 415}}

    assert byoc.invoke(Runtime(), "ep", "x", "text/plain") == (415, "text/plain",
                                                               "unsupported")
    assert sent == [{"EndpointName": "ep", "Body": "x", "ContentType": "text/plain"}]
    byoc.invoke(Runtime(), "ep", "x", "text/csv", accept="text/csv")
    assert sent[-1]["Accept"] == "text/csv"


def test_invoke_unpacks_model_error_and_raises_others(byoc: Any) -> None:
    class Runtime:
        def __init__(self, error: dict[str, Any]) -> None:
            self.error = error

        def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError(self.error, "InvokeEndpoint")

    model_error = {"Error": {"Code": "ModelError", "Message": "Received client error (400)"},
                   "OriginalStatusCode": 400, "OriginalMessage": "CSV row 1 has 3 value(s)"}
    assert byoc.invoke(Runtime(model_error), "ep", "1,2,3", "text/csv") == (
        400, "text/plain", "CSV row 1 has 3 value(s)")
    other = {"Error": {"Code": "ValidationError", "Message": "Endpoint ep not found"}}
    with pytest.raises(ClientError, match="not found"):
        byoc.invoke(Runtime(other), "ep", "1,2,3", "text/csv")


def test_publish_image_locally_tags_but_pushes_nothing(
    byoc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker_calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(byoc, "docker", lambda *args, **kw: docker_calls.append(args))
    with lab_context("98-unit-test") as lab:
        ecr = lab.client("ecr")
        first = byoc.publish_image(lab, "mlecourse/r-model:abc123", "mlecourse-98-r")
        again = byoc.publish_image(lab, "mlecourse/r-model:abc123", "mlecourse-98-r")
        repo = ecr.describe_repositories(repositoryNames=["mlecourse-98-r"])
        arn = repo["repositories"][0]["repositoryArn"]
        tags = ecr.list_tags_for_resource(resourceArn=arn)["tags"]
        region = lab.region
        assert lab.cleanup(verbose=False) == []
    registry = f"123456789012.dkr.ecr.{region}.amazonaws.com"
    assert first == again == f"{registry}/mlecourse-98-r:abc123"
    assert repo["repositories"][0]["imageTagMutability"] == "IMMUTABLE"
    assert {"Key": "lab", "Value": "98-unit-test"} in tags
    # local tags and their removal only: no login, no push
    assert [c[0] for c in docker_calls] == ["tag", "tag", "rmi", "rmi"]
    assert ("tag", "mlecourse/r-model:abc123", first) in docker_calls


def test_publish_image_keeps_a_repository_it_did_not_create(
    byoc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(byoc, "docker", lambda *args, **kw: "")
    left: list[list[str]] = []
    with lab_context("98-unit-test") as lab:
        ecr = lab.client("ecr")
        ecr.create_repository(repositoryName="someone-elses")

        def names() -> list[str]:
            return sorted(r["repositoryName"] for r in
                          ecr.describe_repositories()["repositories"])

        lab.on_cleanup("delete it (the test's own)",  # runs last
                       lambda: ecr.delete_repository(repositoryName="someone-elses"))
        lab.on_cleanup("look at what is left", lambda: left.append(names()))
        byoc.publish_image(lab, "mlecourse/r-model:abc123", "someone-elses")
        byoc.publish_image(lab, "mlecourse/r-model:abc123", "mlecourse-98-mine")
        assert names() == ["mlecourse-98-mine", "someone-elses"]
        assert lab.cleanup(verbose=False) == []
    assert left == [["someone-elses"]]


def test_course_image_uses_a_given_uri_on_aws_without_building(
    byoc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    monkeypatch.setattr(byoc, "build_image", lambda name: built.append(name))
    monkeypatch.setenv("COURSE_IMAGE_TABULAR_SKLEARN", "1.dkr.ecr.r.amazonaws.com/x:1")
    lab = aws_lab()
    assert byoc.course_image(lab, "tabular-sklearn") == "1.dkr.ecr.r.amazonaws.com/x:1"
    assert built == []
