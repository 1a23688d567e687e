"""Every name the labs make fits the API parameter it feeds, on ``aws``, in every commercial
region, for the longest learner token.

The call sites are found by parsing the notebooks' code (``lab.resource_name(...)``,
``lab.bucket(...)``, ``lab.bucket_name(...)``); :data:`SITES` says which request parameter
each one feeds (and what the lab appends). Limits come from botocore's service models
(min, max, pattern); where a model states none, from the AWS page in :data:`DOCUMENTED`.
A call site missing from :data:`SITES` must still fit the strictest common rule, SageMaker's
63-character name (add it to the table if it feeds something stricter, such as a tuning
job's 32).
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import botocore.session
import pytest

from labkit.backend import Backend
from labkit.naming import LONGEST_TOKEN
from labkit.paths import REPO_ROOT
from labkit.session import Lab

LONGEST_REGIONS = ("ap-southeast-2", "ap-northeast-1", "ap-southeast-7")
"""14 characters, the longest commercial region names (us-east-1 has 9)."""
ACCOUNT = "123456789012"
TOKEN = "z" * LONGEST_TOKEN
SDK_STAMP = "-" + "2026-12-03-14-30-00-123"
"""What the SageMaker SDK appends to a ``base_job_name`` (``name_from_base``)."""

Param = tuple[str, str, str]  # service, operation, parameter
SM_NAME: Param = ("sagemaker", "CreateEndpoint", "EndpointName")  # 63, [a-zA-Z0-9-]

DOCUMENTED: dict[Param, tuple[int, int, str, str]] = {
    # parameters whose botocore shape has no limits: min, max, pattern, source
    ("s3", "CreateBucket", "Bucket"): (
        3, 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"),
    ("sqs", "CreateQueue", "QueueName"): (
        1, 80, r"[A-Za-z0-9_-]+",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
        "API_CreateQueue.html"),
    ("ec2", "CreateSecurityGroup", "GroupName"): (
        1, 255, r"[ -~]+",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"),
    ("ec2", "CreateTags", "Value"): (
        0, 256, r".*",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Tag.html"),
    ("cloudformation", "CreateStack", "StackName"): (
        1, 128, r"[a-zA-Z][-a-zA-Z0-9]*",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/"
        "API_CreateStack.html"),
}

BUCKET: Param = ("s3", "CreateBucket", "Bucket")
ROLE: Param = ("iam", "CreateRole", "RoleName")
RULE: Param = ("events", "PutRule", "Name")
TRAINING: Param = ("sagemaker", "CreateTrainingJob", "TrainingJobName")
PROCESSING: Param = ("sagemaker", "CreateProcessingJob", "ProcessingJobName")
MODEL: Param = ("sagemaker", "CreateModel", "ModelName")
CONFIG: Param = ("sagemaker", "CreateEndpointConfig", "EndpointConfigName")
ENDPOINT: Param = ("sagemaker", "CreateEndpoint", "EndpointName")
ALARM: Param = ("cloudwatch", "PutMetricAlarm", "AlarmName")
GROUP: Param = ("sagemaker", "CreateModelPackageGroup", "ModelPackageGroupName")

# (lab number, method, purpose as written) -> [(parameter, worst-case purpose, suffix)]
# A purpose that is a variable or an f-string is written "{...}" and given its longest value.
Use = tuple[Param, str | None, str]
SITES: dict[tuple[str, str, str], list[Use]] = {
    ("01", "resource_name", "startup-people"): [(ROLE, None, "")],
    ("01", "resource_name", "startup-software"): [(ROLE, None, "")],
    ("02", "resource_name", "ingest"): [(("stepfunctions", "CreateStateMachine", "name"),
                                         None, "")],
    ("02", "resource_name", "new-csv"): [(RULE, None, "")],
    ("02", "resource_name", "objects"): [(("sqs", "CreateQueue", "QueueName"), None,
                                          "-1767225600")],  # f"{…}-{int(time.time())}"
    ("03", "resource_name", "retry-probe"): [(("stepfunctions", "CreateStateMachine",
                                               "name"), None, "")],
    ("03", "resource_name", "train-gate"): [(("stepfunctions", "CreateStateMachine",
                                              "name"), None, "")],
    ("04", "bucket_name", "sagemaker"): [(BUCKET, None, "")],
    ("04", "resource_name", "isolated-job"): [(TRAINING, None, "")],
    ("04", "resource_name", "{name}"): [  # tag("…", name) and security_group(name, …)
        (("ec2", "CreateTags", "Value"), "sagemaker-api", ""),
        (("ec2", "CreateSecurityGroup", "GroupName"), "sagemaker-api", "")],
    ("04", "resource_name", "open"): [(("ec2", "CreateSecurityGroup", "GroupName"),
                                       None, "")],
    ("05", "resource_name", "api"): [(ENDPOINT, None, "")],
    ("05", "resource_name", "api-5xx"): [(ALARM, None, "")],
    ("05", "resource_name", "api-v2"): [(CONFIG, None, "")],
    ("05", "resource_name", "async"): [(CONFIG, None, "")],
    ("05", "resource_name", "{f'async-{outcome}'}"): [(CONFIG, "async-success", "")],
    ("05", "resource_name", "model"): [(MODEL, None, "")],
    ("05", "resource_name", "serverless"): [(CONFIG, None, "")],
    ("05", "resource_name", "too-big"): [(CONFIG, None, "")],
    ("06", "resource_name", "{name}"): [(("ecr", "CreateRepository", "repositoryName"),
                                         "model-monitor-analyzer", "")],  # course_image
    ("06", "resource_name", "r-batch"): [
        (MODEL, None, ""),
        (("sagemaker", "CreateTransformJob", "TransformJobName"), None, "-abc123")],
    ("06", "resource_name", "r-iris"): [(ENDPOINT, None, ""), (CONFIG, None, ""),
                                        (MODEL, None, ""), (TRAINING, None, SDK_STAMP)],
    ("06", "resource_name", "r-model"): [(("ecr", "CreateRepository", "repositoryName"),
                                          None, "")],
    ("07", "resource_name", "invocations"): [(("application-autoscaling",
                                               "PutScalingPolicy", "PolicyName"), None, "")],
    ("07", "resource_name", "shop"): [(ENDPOINT, None, ""), (CONFIG, None, "")],
    ("07", "resource_name", "shop-model"): [(MODEL, None, "")],
    ("08", "resource_name", "{name}"): [(TRAINING, "modes", SDK_STAMP)],
    ("09", "resource_name", "sgd"): [(TRAINING, None, SDK_STAMP)],
    ("10", "resource_name", "approved"): [(RULE, None, "")],
    ("10", "resource_name", "cancer-models"): [(GROUP, None, "")],
    ("11", "resource_name", "mlflow"): [(("sagemaker", "CreateMlflowTrackingServer",
                                          "TrackingServerName"), None, "")],
    ("12a", "resource_name", "age-drift"): [(ALARM, None, "")],
    ("12a", "resource_name", "data-quality"): [(("sagemaker", "CreateMonitoringSchedule",
                                                 "MonitoringScheduleName"), None, "")],
    ("12a", "resource_name", "endpoint"): [(ENDPOINT, None, "")],
    ("12a", "resource_name", "endpoint-config"): [(CONFIG, None, "")],
    ("12a", "resource_name", "model"): [(MODEL, None, "")],
    ("12b", "resource_name", "model"): [(MODEL, None, "")],
    ("14", "resource_name", "monday"): [(("scheduler", "CreateSchedule", "Name"), None, "")],
    ("14", "resource_name", "monday-rule"): [(RULE, None, "")],
    ("14", "resource_name", "scheduler"): [(ROLE, None, "")],
    ("14", "resource_name", "weekly-demand"): [(("sagemaker", "CreatePipeline",
                                                 "PipelineName"), None, "")],
    ("16a", "resource_name", "explain"): [(PROCESSING, None, "-143000")],
    ("16a", "resource_name", "model"): [(MODEL, None, "")],
    ("16b", "resource_name", "bias"): [(PROCESSING, None, "-20261203143000")],
    ("17", "resource_name", "chapters"): [(("bedrock-agent", "CreateKnowledgeBase", "name"),
                                           None, "")],
    ("18", "resource_name", "redact"): [(("comprehend", "StartPiiEntitiesDetectionJob",
                                          "JobName"), None, "")],
    ("19", "resource_name", "model-card"): [(("sagemaker", "CreateModelCard",
                                              "ModelCardName"), None, "")],
    ("20", "resource_name", "firehose"): [(ROLE, None, "")],
    ("20", "resource_name", "readings"): [(("kinesis", "CreateStream", "StreamName"),
                                           None, "")],
    ("20", "resource_name", "to-lake"): [(("firehose", "CreateDeliveryStream",
                                           "DeliveryStreamName"), None, "")],
    ("21", "resource_name", "customers"): [(("sagemaker", "CreateFeatureGroup",
                                             "FeatureGroupName"), None, "")],
    ("22", "resource_name", "5xx"): [(ALARM, None, "")],
    ("22", "resource_name", "demand"): [(ENDPOINT, None, "")],
    ("22", "resource_name", "latency-p99"): [(ALARM, None, "")],
    ("22", "resource_name", "sizing"): [(("sagemaker", "CreateInferenceRecommendationsJob",
                                          "JobName"), None, "")],
    ("22", "resource_name", "spend"): [(ALARM, None, "")],
    ("23", "resource_name", "endpoint-stack"): [(("cloudformation", "CreateStack",
                                                  "StackName"), None, "")],
    ("24", "resource_name", "churn-models"): [(GROUP, None, "")],
}

KIT_SITES: list[tuple[str, str, str, Use]] = [
    # names the kit makes for a lab: (lab number, method, purpose, use)
    ("02", "resource_name", "ingest-states", (ROLE, None, "")),  # stepfunctions.states_role
    ("03", "resource_name", "ml-states", (ROLE, None, "")),
    ("12a", "bucket_name", "sagemaker", (BUCKET, None, "")),  # lab.sagemaker_session()
]


def call_sites() -> set[tuple[str, str, str, str]]:
    """(lab name, lab number, method, purpose as written) of every call in the labs."""
    found = set()
    for path in sorted((REPO_ROOT / "labs").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        number = path.stem.split("-", 1)[0]
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "\n".join(line for line in "".join(cell["source"]).splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "lab"
                        and node.func.attr in ("resource_name", "bucket", "bucket_name")):
                    arg = node.args[0] if node.args else None
                    if arg is None:
                        purpose = "data"
                    elif isinstance(arg, ast.Constant):
                        purpose = str(arg.value)
                    else:
                        purpose = "{" + ast.unparse(arg) + "}"
                    method = "bucket_name" if node.func.attr == "bucket" else node.func.attr
                    found.add((path.stem, number, method, purpose))
    return found


@cache
def _models() -> botocore.session.Session:
    return botocore.session.get_session()


def constraint(param: Param) -> tuple[int, int, str | None, str]:
    """(min, max, pattern, source) of a request parameter."""
    if param in DOCUMENTED:
        low, high, pattern, source = DOCUMENTED[param]
        return low, high, pattern, source
    service, operation, name = param
    shape = _models().get_service_model(service).operation_model(operation).input_shape
    member = shape.members[name]
    meta = member.metadata
    assert "max" in meta or "pattern" in meta, f"{param} has no limits in botocore: " \
        "add it to DOCUMENTED with the AWS page"
    return (int(meta.get("min", 0)), int(meta.get("max", 10**6)), meta.get("pattern"),
            f"botocore {service} {operation}.{name}")


def problems(name: str, param: Param) -> list[str]:
    low, high, pattern, source = constraint(param)
    found = []
    if not low <= len(name) <= high:
        found.append(f"{name!r} ({len(name)} characters) is not {low}-{high} ({source})")
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error:  # \p{…} classes: Python's re lacks them; the length still counts
            regex = None
        if regex is not None and not regex.fullmatch(name):
            found.append(f"{name!r} does not match {pattern} ({source})")
    return found


def aws_lab(lab_name: str, region: str) -> Lab:
    return Lab(name=lab_name, backend=Backend.AWS, region=region, boto_session=None,  # type: ignore[arg-type]
               account_id=ACCOUNT, workdir=Path("/nonexistent"), learner=TOKEN)


def build(lab: Lab, method: str, purpose: str, suffix: str) -> str:
    return str(getattr(lab, method)(purpose)) + suffix


def all_problems() -> list[str]:
    found: list[str] = []
    sites = call_sites()
    names = {number: stem for stem, number, _, _ in sites}
    uses = [(stem, number, method, purpose, use) for stem, number, method, purpose in sites
            for use in SITES.get((number, method, purpose),
                                 [(BUCKET, None, "")] if method == "bucket_name"
                                 else [(SM_NAME, None, "")])]
    uses += [(names.get(n, f"{n}-x"), n, m, p, u) for n, m, p, u in KIT_SITES]
    for stem, _, method, purpose, (param, value, suffix) in uses:
        for region in LONGEST_REGIONS:
            try:
                name = build(aws_lab(stem, region), method, value or purpose, suffix)
            except Exception as exc:  # noqa: BLE001 - the kit's own length check
                found.append(f"{stem}: {method}({value or purpose!r}): {exc}")
                continue
            found += [f"{stem}: {p}" for p in problems(name, param)]
    return sorted(set(found))


def test_the_table_names_only_call_sites_that_exist():
    """A stale entry would hide that a site changed its purpose (and its limit)."""
    present = {(number, method, purpose) for _, number, method, purpose in call_sites()}
    stale = sorted(set(SITES) - present)
    labs_present = {number for _, number, _, _ in call_sites()}
    assert [s for s in stale if s[0] in labs_present] == []
    assert len(present) >= 60, "the parser found too few call sites"


def test_every_name_fits_its_parameter_in_the_longest_regions():
    assert all_problems() == []


def test_an_over_long_name_is_caught(monkeypatch):
    """The planted bug: a purpose that makes a tuning job's name too long must be seen."""
    tuning: Param = ("sagemaker", "CreateHyperParameterTuningJob",
                     "HyperParameterTuningJobName")
    monkeypatch.setitem(SITES, ("09", "resource_name", "sgd"),
                        [(tuning, "sgd-transfer", "")])  # 38 characters on aws
    found = all_problems()
    assert any("is not 1-32" in p and "mlecourse-09-sgd-transfer-" in p for p in found), found
    lab = aws_lab("05-deployment-options", "ap-southeast-2")
    assert problems(lab.resource_name("x" * 41) + "y", ENDPOINT)  # 64 characters
    with pytest.raises(Exception, match="longer than 63"):  # the kit's own check
        lab.resource_name("x" * 42)
    assert problems("Has_Underscore", ENDPOINT)
    assert problems(lab.bucket_name("a"), BUCKET) == []
    assert problems("mlecourse-05-UPPER", BUCKET)


@pytest.mark.parametrize("region", LONGEST_REGIONS)
def test_bucket_names_leave_room_for_the_longest_purpose(region):
    lab = aws_lab("12a-model-monitor-data-quality", region)
    assert len(lab.bucket_name("tensorboard")) <= 63
