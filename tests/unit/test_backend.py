import pytest

from labkit.backend import BACKEND_ENV, Backend, current_backend, current_region
from labkit.errors import LabKitError


def test_default_is_local():
    assert current_backend({}) is Backend.LOCAL
    assert current_backend({BACKEND_ENV: ""}) is Backend.LOCAL


@pytest.mark.parametrize("value", ["aws", "AWS", " aws "])
def test_aws_only_when_asked(value):
    assert current_backend({BACKEND_ENV: value}) is Backend.AWS


@pytest.mark.parametrize("value", ["prod", "true", "1", "amazon"])
def test_unknown_value_is_an_error_that_says_what_to_do(value):
    with pytest.raises(LabKitError) as info:
        current_backend({BACKEND_ENV: value})
    assert value in str(info.value)
    assert "What to do" in str(info.value)


def test_region_order():
    assert current_region({}) == "us-east-1"
    assert current_region({"AWS_DEFAULT_REGION": "eu-west-1"}) == "eu-west-1"
    assert current_region({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}) == "eu-central-1"
    assert current_region({"COURSE_REGION": "ap-south-1", "AWS_REGION": "eu-central-1"}) == "ap-south-1"


# -------------------------------------------- more cases, expected values written by hand
def test_the_enum_values_are_the_documented_words():
    assert (Backend.LOCAL.value, Backend.AWS.value) == ("local", "aws")
    assert BACKEND_ENV == "COURSE_BACKEND"


@pytest.mark.parametrize("value", ["local", "LOCAL", " Local\n", "   "])
def test_local_spelled_any_way_is_local(value):
    assert current_backend({BACKEND_ENV: value}) is Backend.LOCAL


@pytest.mark.parametrize("value", ["aws-prod", "awss", "localhost", "local aws"])
def test_look_alikes_of_the_two_words_are_refused(value):
    with pytest.raises(LabKitError):
        current_backend({BACKEND_ENV: value})


def test_the_unknown_value_message_in_full():
    with pytest.raises(LabKitError) as info:
        current_backend({BACKEND_ENV: "Prod "})
    assert str(info.value) == (
        "COURSE_BACKEND='Prod ' is not a backend this course knows.\n"
        "  What to do: unset COURSE_BACKEND (or set it to 'local') to run on this machine, "
        "or set COURSE_BACKEND=aws to use a real AWS account."
    )


def test_without_a_mapping_the_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("COURSE_BACKEND", "aws")
    assert current_backend() is Backend.AWS
    assert current_backend({}) is Backend.LOCAL  # an explicit mapping wins
    monkeypatch.delenv("COURSE_BACKEND")
    assert current_backend() is Backend.LOCAL
    for name in ("COURSE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    assert current_region() == "sa-east-1"
    assert current_region({}) == "us-east-1"


def test_blank_region_settings_are_skipped_and_spaces_trimmed():
    assert current_region({"COURSE_REGION": "  ", "AWS_REGION": " eu-north-1 "}) == "eu-north-1"
    assert current_region({"COURSE_REGION": "", "AWS_REGION": "",
                           "AWS_DEFAULT_REGION": ""}) == "us-east-1"
    assert current_region({"AWS_DEFAULT_REGION": "ca-central-1", "OTHER": "x"}) == "ca-central-1"
