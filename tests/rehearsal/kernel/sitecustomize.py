"""Loaded by the rehearsal's lab kernel (this folder first on PYTHONPATH).

First the offline test's audit hook, unchanged (it records every connection and name lookup
to NETWORK_AUDIT_LOG); then :func:`rehearsal.install_kernel_hooks` (this folder), which refuses any
connection off this machine and validates and logs every AWS request the lab makes.
"""

import os
import runpy

_here = os.path.dirname(os.path.abspath(__file__))
runpy.run_path(os.path.join(_here, os.pardir, os.pardir, "offline", "audit",
                            "sitecustomize.py"))

if os.environ.get("REHEARSAL_REQUEST_LOG"):
    from rehearsal import install_kernel_hooks

    install_kernel_hooks()
