"""Errors raised by the lab kit.

Every error says what was wrong and what to do about it, so a learner who meets one in a
notebook can fix the cause without reading the kit's source.
"""

from __future__ import annotations


class LabKitError(RuntimeError):
    """A problem the learner can fix; the message names the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\n  What to do: {fix}")


class OffMachineRequestError(LabKitError):
    """An AWS request on the ``local`` backend would have left this machine."""


class DockerUnavailableError(LabKitError):
    """Local mode needs a Docker engine (and compose) and one is missing."""
