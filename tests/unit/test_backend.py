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
