"""A guard that refuses any botocore request to a host that is not on this machine.

On the ``local`` backend moto answers every AWS call in process, so a request that reaches
botocore's HTTP layer is a request that would have gone out to the internet — a missing mock,
a typo in an endpoint, a client made before the lab started. The guard turns that into a loud
:class:`~labkit.errors.OffMachineRequestError` instead of a silent call to a real account.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import botocore.httpsession

from labkit.errors import OffMachineRequestError

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "host.docker.internal"}
_original_send = botocore.httpsession.URLLib3Session.send
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


def install() -> None:
    """Install the guard (idempotent)."""
    global _installed
    botocore.httpsession.URLLib3Session.send = _guarded_send  # type: ignore[method-assign]
    _installed = True


def uninstall() -> None:
    """Remove the guard (used when a lab switches to the ``aws`` backend and in tests)."""
    global _installed
    botocore.httpsession.URLLib3Session.send = _original_send  # type: ignore[method-assign]
    _installed = False


def installed() -> bool:
    """Whether the guard is active."""
    return _installed
