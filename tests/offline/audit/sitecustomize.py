"""Loaded by every Python process started with this folder on PYTHONPATH (see test_offline).

Records each socket connection and name lookup to the file named by NETWORK_AUDIT_LOG, so the
test can prove that a lab on the local backend talked to nothing but this machine.
"""

import json
import os
import sys

_log = os.environ.get("NETWORK_AUDIT_LOG")


def _netns():
    """The process's network namespace (a process in a new, empty one reaches nothing)."""
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return None


def _audit(event, args):
    if event not in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
        return
    if event == "socket.getaddrinfo":
        target = [args[0], args[1]]
    else:
        address = args[1]
        target = list(address) if isinstance(address, tuple) else address
    try:
        with open(_log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": event, "target": target, "pid": os.getpid(),
                                 "netns": _netns()}, default=str) + "\n")
    except OSError:
        pass


if _log:
    sys.addaudithook(_audit)
    # Which interpreter each process is (the test checks the lab's kernel was the venv's).
    try:
        with open(_log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": "start", "pid": os.getpid(), "prefix": sys.prefix,
                                 "executable": sys.executable, "argv": sys.argv[:3]},
                                default=str) + "\n")
    except OSError:
        pass
