"""The test suite cannot act on a learner's account or files, whatever the environment says.

A learner in SageMaker Studio may have COURSE_BACKEND=aws and real credentials set for the
whole space, and notes of their own in the labs' scratch folders. This test runs the whole
unit suite in such an environment (in a separate process whose every socket connection and
name lookup is logged by tests/offline/audit) and checks that nothing left the machine and
the learner's file is still there.

It is also the only run of the unit tests that need no Docker in ``make test`` (whose main
pytest leaves them out: ``-m "not (unit and not docker)"``): each runs in the hostile
environment, and a failing one fails this test with its name. The unit tests that use Docker
run in the main pytest, in the one worker that runs Docker tests (under xdist no two Docker
tests overlap, and a session's end removes the containers it started: a second pytest here
running Docker tests would remove the Docker worker's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from labkit.paths import REPO_ROOT

sys.path.insert(0, str(Path(__file__).parent / "offline"))
from test_offline import REAL_LOOKING, is_on_this_machine  # noqa: E402


def test_unit_suite_reaches_no_account_and_no_learner_file(tmp_path):
    home = tmp_path / "home"
    planted = home / ".cache" / "mle-course" / "01-iam-cross-account" / "my-notes.txt"
    planted.parent.mkdir(parents=True)
    planted.write_text("the learner's own notes")
    log = tmp_path / "network.jsonl"
    audit = Path(__file__).parent / "offline" / "audit"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("COURSE_", "PYTEST_"))}
    env.update(REAL_LOOKING)
    env.update({
        "COURSE_BACKEND": "aws",  # what a Studio space might set for every process
        "HOME": str(home),
        "NETWORK_AUDIT_LOG": str(log),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(audit), env.get("PYTHONPATH")])),
    })
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-m", "not docker", "-q", "-rfE",
         "-p", "no:randomly", "-o", "addopts="],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    failed = [line for line in result.stdout.splitlines()
              if line.startswith(("FAILED ", "ERROR "))]
    assert result.returncode == 0, "\n".join(
        ["unit tests failed:", *failed, "", (result.stdout + result.stderr)[-4000:]])
    assert " passed" in result.stdout
    assert planted.read_text() == "the learner's own notes"
    events = [e for e in map(json.loads, log.read_text().splitlines())
              if e["event"] != "start"]  # "start" lines say which interpreter a process is
    assert events, "the audit hook recorded nothing: the test would not see a leak"
    # Lab 04's probe deliberately tries the network from a new, empty network namespace
    # (unshare --net): such a process has no route anywhere, so only this namespace counts.
    here = os.readlink("/proc/self/ns/net")
    off_machine = [e for e in events if not is_on_this_machine(e["target"])
                   and e.get("netns", here) == here]
    assert off_machine == [], off_machine[:10]
    assert any(e.get("netns") == here for e in events), "no event from this namespace"
