"""labkit.quiet: an import that configures the root logger leaves it as it was."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from labkit.quiet import root_logging_kept


@pytest.fixture
def root() -> logging.Logger:
    logger = logging.getLogger()
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


def test_level_and_added_handlers_are_put_back(root: logging.Logger) -> None:
    own = logging.NullHandler()  # a handler the learner added stays
    root.addHandler(own)
    root.setLevel(logging.WARNING)
    before = list(root.handlers)
    added = logging.StreamHandler()
    with root_logging_kept():  # what basicConfig(level=INFO) does to a bare root logger
        root.setLevel(logging.INFO)
        root.addHandler(added)
    assert root.level == logging.WARNING
    assert root.handlers == before
    assert own in root.handlers and added not in root.handlers


def test_put_back_even_when_the_import_fails(root: logging.Logger) -> None:
    root.setLevel(logging.ERROR)
    with pytest.raises(ImportError), root_logging_kept():
        logging.getLogger().setLevel(logging.DEBUG)
        raise ImportError("no such module")
    assert root.level == logging.ERROR


CHECK = textwrap.dedent("""
    import logging, sys
    from labkit.quiet import root_logging_kept
    if sys.argv[1] == "kept":
        with root_logging_kept():
            import sagemaker.mlops.local
    else:
        import sagemaker.mlops.local
    root = logging.getLogger()
    print(logging.getLevelName(root.level), len(root.handlers))
""")


@pytest.mark.parametrize(("how", "expected"), [("bare", "INFO 1"), ("kept", "WARNING 0")])
def test_the_local_pipeline_import_is_why(how: str, expected: str) -> None:
    """sagemaker 3.27's local pipelines import a module that calls basicConfig(INFO); in a
    fresh interpreter it shows, and root_logging_kept undoes it. When the SDK stops doing
    so, the bare case fails here and the wrapper in localmode.pipeline_session can go."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", CHECK, how], capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == expected
