import boto3
import pytest

from labkit import guard
from labkit.errors import OffMachineRequestError


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000/", "http://localhost:8080/x", "http://[::1]:9000/", "http://127.8.9.1/"],
)
def test_local_urls(url):
    assert guard.is_local_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/",
        "https://sts.us-east-1.amazonaws.com/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/",
    ],
)
def test_remote_urls(url):
    assert not guard.is_local_url(url)


def test_guard_blocks_a_real_request_before_any_network_io(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    guard.install()
    try:
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        with pytest.raises(OffMachineRequestError) as info:
            client.list_buckets()
        assert "amazonaws.com" in str(info.value)
        assert guard.installed()
    finally:
        guard.uninstall()
    assert not guard.installed()
