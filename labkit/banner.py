"""The banner a lab prints when it starts: backend, region, account and tested versions."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
TESTED_ON = {
    "python": "3.11",
    "sagemaker": "3.27.0",
    "boto3": "1.44.8",
    "moto": "5.2.5",
}
"""The versions every lab was last tested on (the README's test command checks them)."""


def package_version(name: str) -> str:
    """Installed version of ``name``, or ``"not installed"``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def installed_versions() -> dict[str, str]:
    """The versions that matter to the labs, as installed here."""
    found = {"python": platform.python_version()}
    for name in ("sagemaker", "boto3", "moto"):
        found[name] = package_version(name)
    return found


def version_drift() -> dict[str, tuple[str, str]]:
    """``{package: (tested, installed)}`` for every version that differs from TESTED_ON."""
    found = installed_versions()
    drift = {}
    for name, tested in TESTED_ON.items():
        have = found[name]
        if not (have == tested or have.startswith(tested + ".")):
            drift[name] = (tested, have)
    return drift


def print_banner(name: str, backend: str, region: str, account_id: str) -> None:
    """Print where the lab runs, so nobody is surprised by a bill or by a fake account."""
    print(f"Lab {name} · backend: {backend} · region {region}")
    if backend == "local":
        print(f"AWS APIs: moto {package_version('moto')} in this process, "
              f"fake account {account_id}")
        print("Nothing leaves this machine.")
    else:
        print(f"REAL account {account_id}: what this lab creates is billed,")
        print(f"tagged course=mle-on-aws, lab={name}; run the cleanup cell.")
    found = installed_versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    for name, (tested, have) in version_drift().items():
        print(f"note: tested with {name} {tested}, you have {have}")
