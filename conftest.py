"""Session-wide safety net: remove every container a test or lab started, even on failure.

A hook rather than a fixture, so that it also covers nbval's notebook items.
"""

from __future__ import annotations

import pytest

from labkit.docker import container_ids, remove_containers_since

_containers_before: set[str] = set()


def pytest_sessionstart(session: pytest.Session) -> None:
    _containers_before.update(container_ids())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Only sessions that ran Docker tests or labs sweep (a unit-test run leaves others alone).
    if any(
        item.get_closest_marker("docker") or str(item.fspath).endswith(".ipynb")
        for item in session.items
    ):
        remove_containers_since(_containers_before)
