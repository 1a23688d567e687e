import labkit
from labkit import banner


def test_installed_versions_are_the_tested_ones_here():
    # The course pins these; a drift means requirements.txt and TESTED_ON disagree.
    assert set(banner.version_drift()) <= {"python"}


def test_drift_is_reported(monkeypatch):
    monkeypatch.setattr(banner, "installed_versions",
                        lambda: {"python": "3.11.7", "sagemaker": "2.257.7", "boto3": "1.44.8", "moto": "5.2.5"})
    assert banner.version_drift() == {"sagemaker": ("3.27.0", "2.257.7")}


def test_banner_names_the_backend(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("00-unit-test")
    try:
        out = capsys.readouterr().out
        assert "backend: local" in out and "Nothing leaves this machine" in out
    finally:
        lab.cleanup(verbose=False)


def test_package_version_of_a_missing_package():
    assert banner.package_version("no-such-package-xyz") == "not installed"
