import pytest

import labkit
from labkit import banner

TESTED = {"python": "3.11.7", "sagemaker": "3.27.0", "boto3": "1.44.8", "moto": "5.2.5"}


def verdicts(**changes):
    return {c.name: c.verdict for c in banner.check_versions({**TESTED, **changes})}


def test_installed_versions_are_the_tested_ones_here():
    # The course pins these; a drift means requirements.txt and TESTED_ON disagree.
    assert set(banner.version_drift()) <= {"python"}


@pytest.mark.parametrize(("python", "verdict"), [
    ("3.10.13", "fail"),   # the pinned numpy and pandas have no 3.10 build
    ("3.11.0", "same"),
    ("3.12.15", "note"),   # SageMaker Distribution 4.5's Python: supported, not the tested one
    ("3.13.0", "note"),
    ("3.14.1", "note"),    # newer than the newest tested: a note that says so
])
def test_python_policy(python, verdict):
    assert verdicts(python=python)["python"] == verdict


@pytest.mark.parametrize(("installed", "verdict"), [
    ("3.27.0", "same"),
    ("3.27.3", "note"),          # newer patch
    ("3.28.0", "note"),          # newer minor
    ("3.12.0", "fail"),          # Studio's image: older minor than the pin
    ("2.257.7", "fail"),         # SDK v2
    ("4.0.0", "fail"),           # another major
    ("not installed", "fail"),
])
def test_package_policy(installed, verdict):
    assert verdicts(sagemaker=installed)["sagemaker"] == verdict


def test_a_failure_says_what_to_do():
    (check,) = [c for c in banner.check_versions({**TESTED, "sagemaker": "3.12.0"})
                if c.name == "sagemaker"]
    assert "pip install -r requirements.txt" in check.advice and "restart" in check.advice


def test_banner_names_the_backend(capsys):
    lab = labkit.start_lab("98-unit-test")
    try:
        out = capsys.readouterr().out
        assert "backend: local" in out and "Nothing leaves this machine" in out
    finally:
        lab.cleanup(verbose=False)


def test_package_version_of_a_missing_package():
    assert banner.package_version("no-such-package-xyz") == "not installed"
