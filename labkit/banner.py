"""The banner a lab prints when it starts: backend, region, account and tested versions."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
TESTED_ON = {
    "python": "3.11",
    "sagemaker": "3.27.0",
    "boto3": "1.44.8",
    "moto": "5.2.5",
}
"""The versions every lab was last tested on (the README's test command checks them)."""

SUPPORTED_PYTHON = ((3, 11), (3, 13))
"""Lowest and highest Python minor the pinned requirements install on and the labs pass on.
3.11 is what the course is tested on, 3.12 what SageMaker Studio's SageMaker Distribution
4.x images run; the pinned numpy and pandas have no build for 3.10."""


@dataclass(frozen=True)
class VersionCheck:
    """One version compared with what the course was tested on."""

    name: str
    tested: str
    installed: str
    verdict: str  # "same", "note" (differs but works) or "fail" (breaks the labs)
    advice: str


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


def _numbers(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


_REINSTALL = ("run `pip install -r requirements.txt` in this environment, then restart the "
              "kernel (in SageMaker Studio too: its image ships older versions)")


def check_versions(found: dict[str, str] | None = None) -> list[VersionCheck]:
    """Compare the installed versions with :data:`TESTED_ON`, and say what breaks the labs.

    Python: a supported minor is fine (a note when it is not the tested one), an older one
    fails. A package: not installed, another major version, or an older minor than the pin
    fails (the labs use APIs of the pinned release); a newer patch or minor is a note.
    """
    found = installed_versions() if found is None else found
    checks = []
    have = _numbers(found["python"])[:2]
    low, high = SUPPORTED_PYTHON
    tested = TESTED_ON["python"]
    if have < low:
        verdict, advice = "fail", (
            f"install Python {low[0]}.{low[1]} or newer (the pinned numpy and pandas have no "
            "build for older ones) and create the virtual environment again")
    elif have == _numbers(tested):
        verdict, advice = "same", ""
    elif have <= high:
        verdict, advice = "note", "a supported Python; the course is tested on " + tested
    else:
        verdict, advice = "note", (f"newer than the newest tested ({high[0]}.{high[1]}): "
                                   "if a package fails to install, use that one")
    checks.append(VersionCheck("python", tested, found["python"], verdict, advice))
    for name in ("sagemaker", "boto3", "moto"):
        tested, installed = TESTED_ON[name], found[name]
        want, got = _numbers(tested), _numbers(installed)
        if installed == tested:
            verdict, advice = "same", ""
        elif not got or got[0] != want[0] or got[:2] < want[:2]:
            verdict, advice = "fail", _REINSTALL
        else:
            verdict, advice = "note", "newer than the pin; the labs should still work"
        checks.append(VersionCheck(name, tested, installed, verdict, advice))
    return checks


def version_drift() -> dict[str, tuple[str, str]]:
    """``{name: (tested, installed)}`` for every version that differs from TESTED_ON."""
    return {c.name: (c.tested, c.installed) for c in check_versions() if c.verdict != "same"}


def print_banner(name: str, backend: str, region: str, account_id: str,
                 learner: str = "local") -> None:
    """Print where the lab runs, so nobody is surprised by a bill or by a fake account."""
    print(f"Lab {name} · backend: {backend} · region {region} · learner {learner}")
    if backend == "local":
        print(f"AWS APIs: moto {package_version('moto')} in this process, "
              f"fake account {account_id}")
        print("Nothing leaves this machine.")
    else:
        print(f"REAL account {account_id}: what this lab creates is billed, named "
              f"…-{learner} and")
        print(f"tagged course=mle-on-aws, lab={name}, learner={learner}; run the cleanup "
              "cell.")
    checks = check_versions()
    print("versions: " + ", ".join(f"{c.name} {c.installed}" for c in checks))
    for c in checks:
        if c.verdict != "same":
            word = "PROBLEM" if c.verdict == "fail" else "note"
            print(f"{word}: tested with {c.name} {c.tested}, you have {c.installed}: {c.advice}")
