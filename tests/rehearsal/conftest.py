"""The rehearsal's marker, registered here until pyproject.toml lists it."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "rehearsal: a lab's aws branch against a moto server with IAM enforced")
