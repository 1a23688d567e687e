"""The IAM actions each lab needs on the ``aws`` backend, derived from the labs' own code.

    python tools/lab_permissions.py            # print each lab's actions
    python tools/lab_permissions.py --write    # and rewrite policies/course-learner.json

A static scan of the code that runs on ``aws`` (the body of ``if lab.is_local:`` and code
after ``if not lab.is_local: return`` are local-only and left out): every code cell of every lab (and the ``labkit`` modules the labs call) is
parsed with ``ast``; a name bound to ``lab.client("svc")`` (or ``<session>.client("svc")``),
or a name that conventionally holds one (``s3``, ``sm``, ``iam`` …), is a client of ``svc``;
each ``client.method(...)`` whose method is an operation in botocore's service model for
``svc`` becomes the IAM action ``<prefix>:<OperationName>`` (botocore's own name of the
operation, so ``list_objects_v2`` is ``ListObjectsV2``). A few operations are authorised
under another action name; :data:`ACTION_OF` lists them, each from the AWS service
authorization reference. ``policies/course-learner.json`` must allow every action found;
``tests/instructor/test_policy.py`` checks that and lints the policy with parliament.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import re
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "labs"
KIT = ROOT / "labkit"

# Names that hold a client by convention, when the cell does not show the assignment (a
# function parameter, a client made in an earlier cell or in the kit).
ALIASES = {
    "s3": "s3", "sm": "sagemaker", "sagemaker_client": "sagemaker", "iam": "iam",
    "sts": "sts", "events": "events", "sqs": "sqs", "sfn": "stepfunctions",
    "ecr": "ecr", "cw": "cloudwatch", "cloudwatch": "cloudwatch", "logs": "logs",
    "sns": "sns", "comprehend": "comprehend", "ec2": "ec2", "aas": "application-autoscaling",
    "scheduler": "scheduler", "tagging": "resourcegroupstaggingapi",
    "runtime": "sagemaker-runtime", "smr": "sagemaker-runtime", "kb": "bedrock-agent-runtime",
    "bedrock": "bedrock-runtime",
}
# boto3 service name -> IAM service prefix, where they differ.
PREFIX = {
    "stepfunctions": "states", "sagemaker-runtime": "sagemaker", "bedrock-runtime": "bedrock",
    "bedrock-agent-runtime": "bedrock", "bedrock-agent": "bedrock",
    "resourcegroupstaggingapi": "tag", "sagemaker-featurestore-runtime": "sagemaker",
    "sagemaker-a2i-runtime": "sagemaker", "s3control": "s3", "emr": "elasticmapreduce",
    "opensearch": "es", "opensearchserverless": "aoss",
}
# Operations authorised under another action (service authorization reference, S3:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
ACTION_OF = {
    "s3:ListObjectsV2": ["s3:ListBucket"], "s3:ListObjects": ["s3:ListBucket"],
    "s3:HeadBucket": ["s3:ListBucket"], "s3:HeadObject": ["s3:GetObject"],
    # DeleteObjects is authorised per key: s3:DeleteObjectVersion for a key with a version
    # id, which is how the kit empties a (versioned) bucket (API_DeleteObjects.html)
    "s3:DeleteObjects": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
    "s3:ListBuckets": ["s3:ListAllMyBuckets"],
    "s3:ListObjectVersions": ["s3:ListBucketVersions"],
    "s3:CopyObject": ["s3:GetObject", "s3:PutObject"],
    "s3:PutBucketNotificationConfiguration": ["s3:PutBucketNotification"],
    "s3:GetBucketNotificationConfiguration": ["s3:GetBucketNotification"],
    "s3:PutBucketLifecycleConfiguration": ["s3:PutLifecycleConfiguration"],
    "s3:GetBucketLifecycleConfiguration": ["s3:GetLifecycleConfiguration"],
    "bedrock:Converse": ["bedrock:InvokeModel"],
    "bedrock:ConverseStream": ["bedrock:InvokeModelWithResponseStream"],
}
# S3 calls with a VersionId are authorised under the *Version action (service authorization
# reference for Amazon S3; DeleteObject: "To remove a specific version, you must have the
# s3:DeleteObjectVersion permission", https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).
VERSIONED = {"delete_object": "s3:DeleteObjectVersion", "get_object": "s3:GetObjectVersion",
             "head_object": "s3:GetObjectVersion"}
# boto3's S3 transfer methods, injected on the client (not in the service model).
S3_TRANSFER = {"upload_file": "PutObject", "upload_fileobj": "PutObject",
               "download_file": "GetObject", "download_fileobj": "GetObject"}


@cache
def operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name, from botocore's service model."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def actions_for(service: str, method: str) -> list[str]:
    prefix = PREFIX.get(service, service)
    if service == "s3" and method in S3_TRANSFER:
        return [f"s3:{S3_TRANSFER[method]}"]
    op = operations(service).get(method)
    if op is None:
        return []
    action = f"{prefix}:{op}"
    return ACTION_OF.get(action, [action])


def _client_service(node: ast.AST) -> str | None:
    """'svc' for ``<anything>.client("svc", ...)``, also as either arm of ``a if c else b``
    (``stand_in if lab.is_local else lab.client("comprehend")``)."""
    if isinstance(node, ast.IfExp):
        return _client_service(node.orelse) or _client_service(node.body)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "client" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


# The sweep's helpers that name a service's operations by string (labkit/sweep.py), with
# the service (None: their first argument) and the positions of the operation arguments;
# a ``creates`` tuple is never read as a permission the sweep needs.
OPERATION_HELPERS: dict[str, tuple[str | None, tuple[int, ...]]] = {
    "_call": (None, (1,)), "_sm": ("sagemaker", (1, 5)), "_ec2": ("ec2", (1,)),
    "_job": ("sagemaker", (2,)),
}


def _generated_clients(node: ast.AST) -> list[str | None]:
    """The services of ``(lab.client(s) for s in ("s3", "kinesis"))``, in order (found by
    the rehearsal: lab 20's Kinesis and Firehose clients were made so, and missed)."""
    if not (isinstance(node, ast.GeneratorExp) and len(node.generators) == 1):
        return []
    loop = node.generators[0]
    call = node.elt
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "client" and call.args
            and isinstance(call.args[0], ast.Name) and isinstance(loop.target, ast.Name)
            and call.args[0].id == loop.target.id
            and isinstance(loop.iter, (ast.Tuple, ast.List))):
        return []
    return [e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else None
            for e in loop.iter.elts]


def _is_local_test(test: ast.AST) -> bool | None:
    """True for ``<x>.is_local``, False for ``not <x>.is_local``, None otherwise."""
    if isinstance(test, ast.Attribute) and test.attr == "is_local":
        return True
    if (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
            and isinstance(test.operand, ast.Attribute) and test.operand.attr == "is_local"):
        return False
    return None


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue))


def aws_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` that can run on the ``aws`` backend: the body of
    ``if lab.is_local:`` is left out, and so is whatever follows an
    ``if not lab.is_local: return …`` in its block (local-only code)."""
    out: list[ast.AST] = []

    def block(stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                local = _is_local_test(stmt.test)
                if local is True:
                    out.append(stmt.test)
                    block(stmt.orelse)
                    if _exits(stmt.orelse):
                        return
                    continue
                if local is False:
                    out.append(stmt.test)
                    block(stmt.body)
                    if _exits(stmt.body):
                        return  # the rest of this block runs only locally
                    continue
            visit(stmt)

    def visit(node: ast.AST) -> None:
        out.append(node)
        for name, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                block(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(value, ast.AST):
                visit(value)

    if isinstance(tree, ast.Module):
        block(tree.body)
    else:
        visit(tree)
    return out


def scan_source(source: str, bound: dict[str, str] | None = None) -> set[str]:
    """IAM actions called in ``source``; ``bound`` carries client names between cells."""
    names = dict(ALIASES) if bound is None else bound
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    found: set[str] = set()
    reachable = aws_nodes(tree)
    for node in reachable:
        if isinstance(node, ast.Assign):
            service = _client_service(node.value)
            if service:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names[target.id] = service
            elif isinstance(node.value, ast.Tuple):
                for target, value in zip(getattr(node.targets[0], "elts", []),
                                         node.value.elts, strict=False):
                    service = _client_service(value)
                    if service and isinstance(target, ast.Name):
                        names[target.id] = service
            else:  # a, b = (lab.client(s) for s in ("kinesis", "firehose"))
                for target, service in zip(getattr(node.targets[0], "elts", []),
                                           _generated_clients(node.value), strict=False):
                    if service and isinstance(target, ast.Name):
                        names[target.id] = service
    for node in reachable:
        # a call ``client.op(...)`` or a method handed on (``retry(client.op, ...)``)
        if not isinstance(node, ast.Attribute):
            continue
        owner, method = node.value, node.attr
        service = _client_service(owner)
        if service is None and isinstance(owner, ast.Name):
            service = names.get(owner.id)
        if service is None or method == "get_paginator":
            continue
        with contextlib.suppress(Exception):  # a service botocore does not know
            found.update(actions_for(service, method))
    for node in reachable:  # a version id: another action (API_DeleteObject.html, S3 AuthZ)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and any(k.arg == "VersionId" for k in node.keywords)):
            owner = node.func.value
            service = _client_service(owner) or (
                names.get(owner.id) if isinstance(owner, ast.Name) else None)
            versioned = VERSIONED.get(node.func.attr)
            if service == "s3" and versioned:
                found.add(versioned)
    for node in reachable:  # the sweep's operations, named by strings (labkit/sweep.py)
        if not isinstance(node, ast.Call):
            continue
        helper = node.func.id if isinstance(node.func, ast.Name) else ""
        service, positions = None, ()
        if helper in OPERATION_HELPERS:
            service, positions = OPERATION_HELPERS[helper]
            if service is None and node.args and isinstance(node.args[0], ast.Constant):
                service = str(node.args[0].value)
        elif node.args:  # _pages(client, "list_topics", ...): a client, then its operation
            owner = node.args[0]
            service = _client_service(owner) or (
                names.get(owner.id) if isinstance(owner, ast.Name) else None)
            positions = (1,)
        for position in positions if service else ():
            if position < len(node.args) and isinstance(node.args[position], ast.Constant):
                with contextlib.suppress(Exception):
                    found.update(actions_for(str(service), str(node.args[position].value)))
    for node in reachable:  # the paginator's operation is its first argument
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get_paginator" and node.args
                and isinstance(node.args[0], ast.Constant)):
            owner = node.func.value
            service = _client_service(owner) or (
                names.get(owner.id) if isinstance(owner, ast.Name) else None)
            if service:
                with contextlib.suppress(Exception):
                    found.update(actions_for(service, str(node.args[0].value)))
    return found


# What the SageMaker Python SDK v3 calls for the lab when a cell uses one of its classes (the
# scan sees the class, not the calls inside it). Operation names from the SageMaker API
# reference: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Operations.html
SDK_ACTIONS = {
    "ModelTrainer(": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob",
                      "sagemaker:StopTrainingJob", "sagemaker:AddTags", "iam:PassRole",
                      "logs:DescribeLogStreams", "logs:GetLogEvents",
                      # the SDK checks the role's access to its staging bucket
                      # (ModelTrainer._resolve_staging_bucket) and validates the role
                      "iam:SimulatePrincipalPolicy"],
    "HyperparameterTuner(": ["sagemaker:CreateHyperParameterTuningJob",
                             "sagemaker:DescribeHyperParameterTuningJob",
                             "sagemaker:StopHyperParameterTuningJob",
                             "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                             "iam:PassRole"],
    "Processor(": ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob",
                   "sagemaker:StopProcessingJob", "iam:PassRole", "logs:GetLogEvents"],
    "Transformer(": ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob",
                     "sagemaker:StopTransformJob"],
    "Pipeline(": ["sagemaker:CreatePipeline", "sagemaker:UpdatePipeline",
                  "sagemaker:DescribePipeline", "sagemaker:DeletePipeline",
                  "sagemaker:StartPipelineExecution", "sagemaker:DescribePipelineExecution",
                  "sagemaker:ListPipelineExecutionSteps", "iam:PassRole"],
    "sagemaker_session()": ["s3:CreateBucket", "s3:PutObject", "s3:GetObject",
                            "s3:ListBucket", "sts:GetCallerIdentity"],
}


def sdk_actions(sources: list[str]) -> set[str]:
    text = "\n".join(sources)
    return {a for marker, actions in SDK_ACTIONS.items() if marker in text for a in actions}


def lab_sources(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def kit_modules_used(sources: list[str]) -> list[Path]:
    """The labkit modules (standins included) a lab imports: ``labkit.x``,
    ``from labkit.standins import y``, ``from labkit import x``."""
    text = "\n".join(sources)
    used = [KIT / "session.py"]  # start_lab, buckets, clean-up
    for module in sorted(KIT.rglob("*.py")):
        rel = module.relative_to(KIT).with_suffix("")
        dotted = "labkit." + ".".join(rel.parts)
        parent = ".".join(("labkit", *rel.parts[:-1]))
        stem = rel.parts[-1]
        imported = re.search(rf"from {re.escape(parent)} import [^\n]*\b{stem}\b", text)
        if dotted in text or imported:
            used.append(module)
    return used


def lab_actions() -> dict[str, list[str]]:
    """Lab name -> sorted IAM actions it calls (its cells and the kit modules it uses)."""
    result = {}
    for path in sorted(LABS.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        sources = lab_sources(path)
        bound = dict(ALIASES)
        actions: set[str] = set()
        for source in sources:
            actions |= scan_source(source, bound)
        actions |= sdk_actions(sources)
        for module in kit_modules_used(sources):
            actions |= scan_source(module.read_text(encoding="utf-8"))
        result[path.stem] = sorted(actions)
    return result


POLICY = ROOT / "policies" / "course-learner.json"
PREFIX_OF_NAMES = "mlecourse"   # labkit.sweep.NAME_PREFIX: every name a lab makes starts so
READ_VERBS = ("Describe", "List", "Get")
# Reads that hand out credentials stay explicit, never under a wildcard.
NO_READ_WILDCARD = {"sts", "ecr"}
PASSED_TO = ["sagemaker.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com",
             "scheduler.amazonaws.com"]


def build_policy(found: dict[str, list[str]]) -> dict[str, object]:
    """The learner policy for every lab's actions: reads by verb wildcard, S3 and IAM writes
    only on the course's own names, PassRole only to the services the labs use."""
    actions = sorted({a for lab in found.values() for a in lab})

    def is_read(action: str) -> bool:
        return action.split(":", 1)[1].startswith(READ_VERBS)

    reads, explicit_reads = set(), set()
    for action in actions:
        service, op = action.split(":", 1)
        if not is_read(action):
            continue
        if service in NO_READ_WILDCARD:
            explicit_reads.add(action)
        else:
            reads.add(f"{service}:{next(v for v in READ_VERBS if op.startswith(v))}*")
    named = f"{PREFIX_OF_NAMES}-*"
    s3_writes = sorted({a for a in actions if a.startswith("s3:") and not is_read(a)}
                       | {"s3:GetObject"})
    iam_writes = sorted(a for a in actions if (a.startswith("iam:") and not is_read(a)
                        and a != "iam:PassRole") or a == "sts:AssumeRole")
    others = sorted(a for a in actions if not is_read(a) and not a.startswith(("s3:", "iam:"))
                    and a != "sts:AssumeRole")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadDescribeListGet", "Effect": "Allow",
             "Action": sorted(reads) + sorted(explicit_reads), "Resource": "*"},
            {"Sid": "CourseBucketsOnly", "Effect": "Allow", "Action": s3_writes,
             "Resource": [f"arn:aws:s3:::{named}", f"arn:aws:s3:::{named}/*"]},
            {"Sid": "CourseIdentitiesOnly", "Effect": "Allow", "Action": iam_writes,
             "Resource": [f"arn:aws:iam::*:{kind}/{named}" for kind in
                          ("role", "user", "group", "policy", "instance-profile")]},
            {"Sid": "PassCourseRolesToLabServices", "Effect": "Allow", "Action": "iam:PassRole",
             "Resource": f"arn:aws:iam::*:role/{named}",
             "Condition": {"StringEquals": {"iam:PassedToService": PASSED_TO}}},
            {"Sid": "LabWrites", "Effect": "Allow", "Action": others, "Resource": "*"},
        ],
    }


def lint(policy: dict[str, object]) -> list[tuple[str, str, str]]:
    """parliament's findings on ``policy`` (community auditors included), as
    (issue, severity, the actions or detail it names)."""
    import importlib.util
    import os
    import types

    if "parliament" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:  # setuptools 81+ dropped it; parliament 1.6.4 needs one function
            stand_in = types.ModuleType("pkg_resources")

            def resource_filename(package: str, name: str) -> str:
                spec = importlib.util.find_spec(package)
                assert spec and spec.origin
                return os.path.join(os.path.dirname(spec.origin), name)

            stand_in.resource_filename = resource_filename  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = stand_in
            try:
                import parliament  # noqa: F401
            finally:
                del sys.modules["pkg_resources"]
    import parliament

    if not getattr(parliament, "_course_configured", False):
        parliament.override_config(os.path.join(os.path.dirname(parliament.__file__),
                                                "community_auditors", "config_override.yaml"))
        parliament._course_configured = True  # type: ignore[attr-defined]
    result = parliament.analyze_policy_string(json.dumps(policy),
                                              include_community_auditors=True)
    found = []
    for raw in result.findings:
        raw = parliament.enhance_finding(raw)
        detail = raw.detail
        if not detail and isinstance(raw.location, dict):
            detail = raw.location.get("actions", "")
        if isinstance(detail, list):
            detail = ", ".join(str(d) for d in detail)
        found.append((raw.issue, raw.severity, str(detail)))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {POLICY}")
    args = parser.parse_args(argv)
    found = lab_actions()
    if args.write:
        POLICY.parent.mkdir(exist_ok=True)
        POLICY.write_text(json.dumps(build_policy(found), indent=2) + "\n", encoding="utf-8")
    for issue, severity, detail in lint(build_policy(found)):
        print(f"parliament: {severity} {issue}: {detail[:120]}")
    for lab, actions in found.items():
        print(f"{lab}: {len(actions)} actions")
        for action in actions:
            print(f"  {action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
