"""containers/data-parallel: what lab 25b's two-container job needs from the image.

ModelTrainer's ``SourceCode`` starts the script through the SDK's driver (``sm_train.sh``),
which needs bash, python3 and pip; the script needs NumPy. Then the lab's own all-reduce
(its ``#@save`` cells) between two containers of the image on a Docker network of the
test's own, found by name as SageMaker's ``algo-1``/``algo-2`` are.

Run under the shared Docker lock:
    flock /tmp/mlecourse-docker.lock .venv/bin/pytest tests/containers/test_data_parallel_image.py
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from labkit import lessons
from labkit.docker import build_image, docker_status
from labkit.localmode import mountable_dir

pytestmark = pytest.mark.docker

_STATUS = docker_status()
if not _STATUS.ok:
    pytest.skip("these tests run the data-parallel container and need Docker: "
                + "; ".join(_STATUS.problems), allow_module_level=True)


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> str:
    return build_image("data-parallel").tag


def test_the_image_has_what_the_sdk_driver_and_the_script_need(image: str) -> None:
    probe = ("command -v bash && command -v python3 && command -v pip3 && "
             "python3 -c 'import numpy; print(numpy.__version__)'")
    done = docker("run", "--rm", "--entrypoint", "/bin/sh", image, "-c", probe)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert [Path(p).name for p in lines[:3]] == ["bash", "python3", "pip3"]
    assert int(lines[3].split(".")[0]) >= 1


SCRIPT = """
import json, sys
import numpy as np
from lesson import connect, allreduce_sum
rank = int(sys.argv[1])
links = connect(["algo-1", "algo-2"], rank, 7777, timeout=30)
total, sent, received = allreduce_sum(np.array([1.0, 2.0]) * (rank + 1) * 10, links, rank)
print(json.dumps({"rank": rank, "total": total.tolist(), "sent": sent}), flush=True)
"""


def test_two_containers_all_reduce_by_host_name(image: str, tmp_path: Path) -> None:
    code = mountable_dir(tmp_path, "code")
    sources = lessons.saved_sources(lessons.notebook_path("25b-data-parallel-training"))
    (code / "lesson.py").write_text("\n\n".join(s for s in sources if "def connect" in s
                                                or "def allreduce_sum" in s))
    (code / "run.py").write_text(SCRIPT)
    network = f"mlecourse-test-dp-{uuid.uuid4().hex[:8]}"
    names = [f"{network}-algo-{i}" for i in (1, 2)]
    assert docker("network", "create", network).returncode == 0
    try:
        for rank in (1, 0):  # the worker first: it must wait for rank 0
            started = docker("run", "-d", "--name", names[rank], "--network", network,
                             "--network-alias", f"algo-{rank + 1}", "-v", f"{code}:/code",
                             "-w", "/code", "--entrypoint", "python3", image, "run.py",
                             str(rank))
            assert started.returncode == 0, started.stderr
        codes = [docker("wait", name, timeout=60).stdout.strip() for name in names]
        logs = [docker("logs", name).stdout for name in names]
        assert codes == ["0", "0"], logs
        reports = [json.loads(log.strip().splitlines()[-1]) for log in logs]
        assert [r["total"] for r in reports] == [[30.0, 60.0], [30.0, 60.0]]
        assert [r["sent"] for r in reports] == [16, 16]
    finally:
        for name in names:
            docker("rm", "-f", name)
        docker("network", "rm", network)
