"""Third-party imports that configure the root logger, kept from doing so in a lab.

A library that calls ``logging.basicConfig(level=INFO)`` when it is imported sets the whole
kernel to INFO and gives it a stderr handler, so every later line that botocore or the SDK
logs at INFO ("Found credentials in environment variables") lands in the lab's output.
Known ones: sagemaker 3.27's ``sagemaker.core.experiments._metrics`` (imported by
``sagemaker.mlops.local``, local pipelines) and wordllama 0.4.0.post1. The SDK has done
this before: https://github.com/aws/sagemaker-python-sdk/issues/4945 and
https://github.com/aws/sagemaker-core/issues/286.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """Put the root logger's level and handlers back as they were after the block."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
