"""Session-wide safety net: remove every container a test or lab started, even on failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labkit.docker import container_ids, remove_containers_since


@pytest.fixture(scope="session", autouse=True)
def _remove_containers_left_behind() -> Iterator[None]:
    before = container_ids()
    yield
    remove_containers_since(before)
