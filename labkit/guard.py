"""A guard that refuses any HTTP request to a host that is not on this machine.

On the ``local`` backend moto answers every AWS call in process, so a request that reaches
botocore's HTTP layer is a request that would have gone out to the internet — a missing mock,
a typo in an endpoint, a client made before the lab started. The guard turns that into a loud
:class:`~labkit.errors.OffMachineRequestError` instead of a silent call to a real account.

It also guards ``requests``, which libraries use beside botocore: the SageMaker SDK (v3)
sends a telemetry GET to ``sm-pysdk-t-<region>.s3.<region>.amazonaws.com`` after many of its
calls; the guard's refusal is a ``requests`` ConnectionError, which the SDK shrugs off.
(Opting out through the SDK's defaults file instead makes the SDK validate that file against
its schema at every lookup: 2.4 s of a 4 s local processing job.) Local-mode endpoints,
MLflow and moto servers are on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any
from urllib.parse import urlsplit

import botocore.httpsession
import requests.exceptions
import requests.sessions

from labkit.errors import OffMachineRequestError

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "host.docker.internal"}
_original_send = botocore.httpsession.URLLib3Session.send
# Session.send, not HTTPAdapter.send: moto's mock replaces the adapter's send (with the
# `responses` library, which lets unmatched requests through) when a lab starts.
_original_requests_send = requests.sessions.Session.send
_SOCKET_SCHEMES = ("http+unix", "http+docker")  # a Unix socket's path, not a host
_installed = False


def is_local_url(url: str) -> bool:
    """True when ``url`` points at a loopback address or a name that means this machine."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # ::ffff:127.0.0.1 is 127.0.0.1, but older Pythons do not count it as loopback
    # (https://github.com/python/cpython/issues/117566)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _guarded_send(self: Any, request: Any) -> Any:
    if not is_local_url(request.url):
        host = urlsplit(request.url).hostname
        raise OffMachineRequestError(
            f"Blocked an AWS request to {host} on the 'local' backend "
            "(nothing may leave this machine).",
            "start the lab with labkit.start_lab(...) before creating clients, and create "
            "clients with lab.client(...); to use a real account, set COURSE_BACKEND=aws.",
        )
    return _original_send(self, request)


class OffMachineHTTPError(OffMachineRequestError, requests.exceptions.ConnectionError):
    """A ``requests`` call refused by the guard: also a ``ConnectionError``, so a library
    that copes with being offline (the SDK's telemetry does) carries on."""


def _guarded_requests_send(self: Any, request: Any, **kwargs: Any) -> Any:
    if not is_local_url(request.url) and not request.url.startswith(_SOCKET_SCHEMES):
        host = urlsplit(request.url).hostname
        raise OffMachineHTTPError(
            f"Blocked an HTTP request to {host} on the 'local' backend "
            "(nothing may leave this machine).",
            "point the library at a service on this machine (127.0.0.1), or set "
            "COURSE_BACKEND=aws to use a real account.",
        )
    return _original_requests_send(self, request, **kwargs)


def install() -> None:
    """Install the guard (idempotent)."""
    global _installed
    botocore.httpsession.URLLib3Session.send = _guarded_send  # type: ignore[method-assign]
    requests.sessions.Session.send = _guarded_requests_send  # type: ignore[method-assign]
    _installed = True


SDK_TELEMETRY_THREAD = "sagemaker-telemetry"
"""The name of the daemon thread the SDK (3.27) sends each telemetry event from."""


def uninstall(wait_s: float = 5.0) -> None:
    """Remove the guard (used when a lab switches to the ``aws`` backend and in tests).

    The SDK's telemetry threads that are still running finish first, while the guard refuses
    them (at once): one that started at a lab's last call and sent after the guard came off
    would reach AWS. The audit of lab 08 caught that once, in a clean-up cell."""
    global _installed
    for thread in threading.enumerate():
        if thread.name == SDK_TELEMETRY_THREAD and thread is not threading.current_thread():
            thread.join(wait_s)
    botocore.httpsession.URLLib3Session.send = _original_send  # type: ignore[method-assign]
    requests.sessions.Session.send = _original_requests_send  # type: ignore[method-assign]
    _installed = False


def installed() -> bool:
    """Whether the guard is active."""
    return _installed
