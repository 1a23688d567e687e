"""Unit tests of labkit.localmode and labkit.ecr (no Docker needed: fakes and moto)."""

from __future__ import annotations

import http.server
import io
import socket
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit import ecr, localmode
from labkit.errors import LabKitError
from labkit.session import lab_context


# ----------------------------------------------------------------------------- ports and ping
@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_port_in_use(listening_port: int) -> None:
    assert localmode.serving_port_in_use(listening_port)
    with pytest.raises(LabKitError, match=f"Port {listening_port}"):
        localmode.require_free_serving_port(listening_port)


def test_port_free() -> None:
    port = closed_port()
    assert not localmode.serving_port_in_use(port)
    localmode.require_free_serving_port(port)


def test_local_serving_port_follows_the_session_config() -> None:
    class Session:
        config: dict[str, Any] | None = None

    class Client:
        sagemaker_session = Session()

    client = Client()
    assert localmode.local_serving_port(client) == 8080
    client.sagemaker_session.config = {"local": {"serving_port": 8123}}
    assert localmode.local_serving_port(client) == 8123
    assert localmode.local_serving_port(object()) == 8080


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


def test_wait_for_ping_returns_when_healthy(ping_server: tuple[str, type[_Ping]]) -> None:
    url, _ = ping_server
    assert localmode.wait_for_ping(url, timeout=5) >= 0


def test_wait_for_ping_reports_the_last_status(ping_server: tuple[str, type[_Ping]]) -> None:
    url, handler = ping_server
    handler.status = 503
    with pytest.raises(LabKitError, match="last: HTTP 503"):
        localmode.wait_for_ping(url, timeout=0.6, interval=0.1)


def test_wait_for_ping_nothing_listening() -> None:
    with pytest.raises(LabKitError, match="did not answer GET /ping"):
        localmode.wait_for_ping(f"http://127.0.0.1:{closed_port()}", timeout=0.5, interval=0.1)


# ----------------------------------------------------------------------------- folders
def test_restricted_paths_are_not_mountable() -> None:
    assert not localmode.is_mountable("/root/.cache/mle-course/x")
    assert not localmode.is_mountable("/etc/ssl")
    assert localmode.is_mountable(Path(tempfile.gettempdir()) / "anything")


def test_mountable_dir_moves_out_of_restricted_places() -> None:
    folder = localmode.mountable_dir("/root/.cache/mle-course/99-unit-test", "model")
    try:
        assert folder == Path(tempfile.gettempdir()) / "mle-course" / "99-unit-test" / "model"
        assert folder.is_dir() and not any(folder.iterdir())
        (folder / "stale.txt").write_text("old")
        again = localmode.mountable_dir("/root/.cache/mle-course/99-unit-test", "model")
        assert again == folder and not any(again.iterdir())  # fresh each time
    finally:
        import shutil

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


def test_local_model_data_errors(tmp_path: Path) -> None:
    with pytest.raises(LabKitError, match="No model archive"):
        localmode.local_model_data(tmp_path / "missing.tar.gz", tmp_path / "served")
    archive = _model_tar(tmp_path / "model.tar.gz", {"model.rds": "x"})
    with pytest.raises(LabKitError, match="will not mount"):
        localmode.local_model_data(archive, "/root/.cache/mle-course/x/model")


def test_read_model_artifact(tmp_path: Path) -> None:
    archive = _model_tar(tmp_path / "model.tar.gz", {"./metrics.json": '{"a": 1}'})
    url = archive.as_uri()
    assert localmode.read_model_artifact(None, url, "metrics.json") == '{"a": 1}'
    with pytest.raises(LabKitError, match="nope.csv is not in"):
        localmode.read_model_artifact(None, url, "nope.csv")


def test_uris(tmp_path: Path) -> None:
    assert localmode.job_input_uri(None, tmp_path, "x", is_local=True) == tmp_path.as_uri()
    assert localmode.job_output_uri(None, tmp_path, "x", is_local=True) == tmp_path.as_uri()
    with pytest.raises(LabKitError, match="will not read"):
        localmode.job_input_uri(None, "/root/data", "x", is_local=True)
    assert localmode.file_uri_path(tmp_path.as_uri()) == tmp_path
    with pytest.raises(LabKitError):
        localmode.file_uri_path("s3://bucket/key")
    assert localmode.endpoint_instance_type(True) == "local"
    assert localmode.endpoint_instance_type(False, "ml.c5.xlarge") == "ml.c5.xlarge"


# ----------------------------------------------------------------------------- invoke
class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.closed = False

    def read(self) -> bytes:
        return self._data

    def close(self) -> None:
        self.closed = True


class _LocalRuntime:
    """Like the SDK's LocalSagemakerRuntimeClient: 4xx comes back as a response."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.response = {"Body": _Body(body), "ContentType": content_type,
                         "ResponseMetadata": {"HTTPStatusCode": status}}
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.response


class _AwsRuntime:
    """Like boto3's sagemaker-runtime client: 4xx from the container raises ModelError."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError(self.error, "InvokeEndpoint")


def test_invoke_local_success_and_error() -> None:
    ok = _LocalRuntime(200, b"setosa,1,0,0", "text/csv")
    got = localmode.invoke(ok, "ep", "5.1,3.5,1.4,0.2", "text/csv", "text/csv")
    assert got == localmode.Invocation(200, "text/csv", "setosa,1,0,0") and got.ok
    assert ok.calls[0]["Accept"] == "text/csv" and ok.calls[0]["EndpointName"] == "ep"
    assert ok.response["Body"].closed
    bad = localmode.invoke(_LocalRuntime(415, b"unsupported", "text/plain"), "ep", "x",
                           "text/plain")
    assert bad.status == 415 and not bad.ok and bad.body == "unsupported"


def test_invoke_aws_model_error_is_unpacked() -> None:
    error = {"Error": {"Code": "ModelError", "Message": "Received client error (400)"},
             "OriginalStatusCode": 400, "OriginalMessage": "CSV row 1 has 3 value(s)"}
    got = localmode.invoke(_AwsRuntime(error), "ep", "1,2,3")
    assert got == localmode.Invocation(400, "text/plain", "CSV row 1 has 3 value(s)")


def test_invoke_other_errors_are_raised() -> None:
    error = {"Error": {"Code": "ValidationError", "Message": "Endpoint ep not found"}}
    with pytest.raises(ClientError, match="not found"):
        localmode.invoke(_AwsRuntime(error), "ep", "1,2,3")


# ----------------------------------------------------------------------------- deploy, transform
class _FakeSageMaker:
    """Records calls like boto3's SageMaker client (with waiters: the AWS path)."""

    def __init__(self, endpoint_status: str = "InService", job_status: str = "Completed"):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.endpoint_status = endpoint_status
        self.job_status = job_status

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            if name == "describe_endpoint":
                return {"EndpointStatus": self.endpoint_status}
            if name == "describe_transform_job":
                return {"TransformJobStatus": self.job_status, "FailureReason": "boom"}
            return {}
        return call

    def get_waiter(self, name: str) -> Any:
        outer = self

        class _Waiter:
            def wait(self, **kwargs: Any) -> None:
                outer.calls.append((f"wait:{name}", kwargs))

        return _Waiter()


def test_deploy_on_aws_path_creates_three_objects_and_waits() -> None:
    sm = _FakeSageMaker()
    tags = [{"Key": "course", "Value": "mle-on-aws"}]
    dep = localmode.deploy(sm, "ep", "img:1", "s3://b/model.tar.gz", "arn:role",
                           instance_type="ml.m5.large", tags=tags)
    names = [c[0] for c in sm.calls]
    assert names == ["create_model", "create_endpoint_config", "create_endpoint",
                     "wait:endpoint_in_service", "describe_endpoint"]
    model = sm.calls[0][1]
    assert model["PrimaryContainer"] == {"Image": "img:1", "ModelDataUrl": "s3://b/model.tar.gz",
                                         "Environment": {}}
    assert model["Tags"] == tags
    variant = sm.calls[1][1]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.m5.large" and variant["InitialInstanceCount"] == 1
    assert dep.endpoint_name == "ep" and dep.seconds_to_in_service >= 0
    dep.delete()
    dep.delete()  # idempotent
    deletes = [c[0] for c in sm.calls if c[0].startswith("delete_")]
    assert deletes == ["delete_endpoint", "delete_endpoint_config", "delete_model"]


def test_deploy_that_fails_cleans_up_and_says_so() -> None:
    sm = _FakeSageMaker(endpoint_status="Failed")
    with pytest.raises(LabKitError, match="ended in status Failed"):
        localmode.deploy(sm, "ep", "img:1", "s3://b/m.tar.gz", "arn:role",
                         instance_type="ml.m5.large")
    assert [c[0] for c in sm.calls][-3:] == ["delete_endpoint", "delete_endpoint_config",
                                              "delete_model"]


def test_run_transform_request_and_failure() -> None:
    sm = _FakeSageMaker()
    out = localmode.run_transform(sm, "job", "model", "s3://b/in", "s3://b/out",
                                  instance_type="ml.m5.large")
    assert out["TransformJobStatus"] == "Completed"
    request = sm.calls[0][1]
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://b/in"
    assert request["TransformOutput"] == {"S3OutputPath": "s3://b/out", "AssembleWith": "Line",
                                          "Accept": "text/csv"}
    assert request["BatchStrategy"] == "MultiRecord" and request["MaxPayloadInMB"] == 6
    with pytest.raises(LabKitError, match="ended in status Failed: boom"):
        localmode.run_transform(_FakeSageMaker(job_status="Failed"), "job", "model",
                                "s3://b/in", "s3://b/out", instance_type="ml.m5.large")


# ----------------------------------------------------------------------------- ECR (moto)
def test_publish_image_locally_makes_api_calls_and_a_tag_but_pushes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docker_calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(ecr, "_docker", lambda *args, **kw: docker_calls.append(args))
    with lab_context("99-unit-ecr") as lab:
        first = ecr.publish_image(lab, "mlecourse/r-model:abc123", "mlecourse-99-r")
        again = ecr.publish_image(lab, "mlecourse/r-model:abc123", "mlecourse-99-r")
        repo = lab.client("ecr").describe_repositories(repositoryNames=["mlecourse-99-r"])
        tags = lab.client("ecr").list_tags_for_resource(resourceArn=first.repository_arn)
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert first.image_uri == f"{registry}/mlecourse-99-r:abc123"
    assert first.registry == registry and first.login_user == "AWS"
    assert first.pushed is False and again.pushed is False
    assert repo["repositories"][0]["imageTagMutability"] == "IMMUTABLE"
    assert {"Key": "course", "Value": "mle-on-aws"} in tags["tags"]
    assert "already there" in again.steps[0]
    # Only local tags (and their removal at cleanup): no login, no push.
    assert {c[0] for c in docker_calls} == {"tag", "rmi"}
    assert ("tag", "mlecourse/r-model:abc123", first.image_uri) in docker_calls
