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


# ----------------------------------------------------- look-alikes (issue 20), by hand
# Each host below is written out with the answer a reader can check without the code:
# only the loopback range (127.0.0.0/8, ::1) and three names that mean "this machine"
# are local; anything that merely starts or ends like them is somewhere else.
@pytest.mark.parametrize(
    "url",
    [
        "http://LocalHost:4566/",  # host names are case-insensitive
        "http://localhost.localdomain/",
        "http://host.docker.internal:5000/",  # Docker's name for the machine itself
        "http://127.1.2.3/",  # all of 127.0.0.0/8 is loopback
        "http://127.255.255.254:80/",
        "http://[::1]/",
        "http://[0:0:0:0:0:0:0:1]:9000/",  # ::1 written out
        "http://[::ffff:127.0.0.1]:8080/",  # IPv4-mapped 127.0.0.1
    ],
)
def test_local_hosts_written_out(url):
    assert guard.is_local_url(url) is True


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.evil.example/",  # starts like localhost
        "http://localhostx/",
        "http://evil-localhost/",
        "http://mylocalhost/",
        "http://host.docker.internal.evil.example/",
        "http://127.0.0.1.nip.io/",  # a public DNS name that merely contains 127.0.0.1
        "http://0.0.0.0/",  # "unspecified", not loopback: refused, as any doubt is
        "http://128.0.0.1/",  # just outside 127.0.0.0/8
        "http://126.255.255.255/",
        "http://[::2]/",
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped, but not loopback
        "http://127.0.0.1@evil.example/",  # user info: the host is evil.example
        "http://localhost:80@evil.example/",
        "https://evil.example/?next=http://localhost/",
        "file:///etc/passwd",  # no host at all
        "",
    ],
)
def test_look_alikes_are_not_local(url):
    assert guard.is_local_url(url) is False


class _Request:
    def __init__(self, url):
        self.url = url


def test_a_local_request_is_passed_on_unchanged(monkeypatch):
    calls = []
    monkeypatch.setattr(guard, "_original_send",
                        lambda session, request: calls.append((session, request)) or "sent")
    session, request = object(), _Request("http://127.0.0.1:5000/bucket")
    assert guard._guarded_send(session, request) == "sent"
    assert len(calls) == 1 and calls[0][0] is session and calls[0][1] is request


def test_a_remote_request_is_refused_with_its_host_and_what_to_do(monkeypatch):
    calls = []
    monkeypatch.setattr(guard, "_original_send", lambda *a: calls.append(a))
    with pytest.raises(OffMachineRequestError) as info:
        guard._guarded_send(object(), _Request("https://localhost.evil.example:443/x"))
    assert calls == []
    assert str(info.value) == (
        "Blocked an AWS request to localhost.evil.example on the 'local' backend "
        "(nothing may leave this machine).\n"
        "  What to do: start the lab with labkit.start_lab(...) before creating clients, "
        "and create clients with lab.client(...); to use a real account, "
        "set COURSE_BACKEND=aws."
    )


def test_install_and_uninstall_swap_botocores_send():
    import botocore.httpsession

    session_class = botocore.httpsession.URLLib3Session
    original = guard._original_send
    was_installed = guard.installed()
    try:
        guard.uninstall()
        assert guard.installed() is False and session_class.send is original
        guard.install()
        assert guard.installed() is True and session_class.send is guard._guarded_send
        guard.install()  # idempotent
        assert session_class.send is guard._guarded_send
        guard.uninstall()
        assert guard.installed() is False and session_class.send is original
    finally:
        (guard.install if was_installed else guard.uninstall)()
