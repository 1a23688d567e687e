"""Test-session plumbing for the whole suite.

* **Isolation.** Every test runs on the ``local`` backend with a work folder of its own,
  whatever the environment says: no test can reach a learner's account or files.
* **Labs run twice in one kernel, under nbval.** Each lab notebook is collected as nbval
  cells, all of them twice in a row (``run 1 · cell 3`` …, ``run 2 · cell 3`` …), in one
  kernel: what a learner does with "Run all" twice. A failing cell is reported with its run
  and number. The first run's outputs are written to ``_build/executed/`` so that the book
  test renders them instead of executing every lab again.
* **Offline, checked.** Every lab process logs its connections and name lookups (an audit
  hook, tests/offline/audit); after a lab's two runs, one off this machine, a kernel from
  another interpreter or an image pull fails the lab.
* **No litter.** One temporary folder holds everything the run writes (pytest's ``tmp_path``,
  the labs' work folders, SageMaker local mode's compose folders); it is removed at the end,
  with every container, network and volume the run started.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

from labkit.docker import container_ids, remove_containers_since
from labkit.notebooks import source_digest
from labkit.paths import LABS_DIR, REPO_ROOT

sys.path.insert(0, str(Path(__file__).parent / "tests" / "offline"))
from test_offline import REAL_LOOKING, is_on_this_machine  # noqa: E402

EXECUTED_DIR = REPO_ROOT / "_build" / "executed"
"""Where each lab's executed notebook (first run's outputs) is written for the book test."""
AUDIT_DIR = REPO_ROOT / "tests" / "offline" / "audit"
"""sitecustomize.py there logs every connection of every lab process (NETWORK_AUDIT_LOG)."""
HOSTILE_LABS = {"00-check-environment"}
"""Labs whose kernel also gets real-looking AWS credentials (tests/offline)."""

_run_root: Path | None = None
_docker_before: dict[str, set[str]] = {}


# ---------------------------------------------------------------- session set-up and clean-up
def _docker_names(kind: str) -> set[str]:
    """Names of Docker networks or volumes, or an empty set when there is no engine."""
    try:
        out = subprocess.run(["docker", kind, "ls", "-q"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return set(out.split())


LEARNER_SETTINGS = ("COURSE_LEARNER", "COURSE_ENDPOINT_NAME", "COURSE_SAGEMAKER_ROLE_ARN")
"""Variables a learner sets for the aws backend; tests and lab runs never see them."""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _run_root
    _run_root = Path(tempfile.mkdtemp(prefix="mle-course-tests-"))
    os.environ["TMPDIR"] = str(_run_root)  # kernels and local mode inherit it
    tempfile.tempdir = None
    os.environ["COURSE_BACKEND"] = "local"
    os.environ["COURSE_WORKDIR"] = str(_run_root / "work")
    for key in LEARNER_SETTINGS:  # a learner's own token, endpoint or role never applies
        os.environ.pop(key, None)
    if not config.option.basetemp:
        config.option.basetemp = str(_run_root / "pytest")


def pytest_sessionstart(session: pytest.Session) -> None:
    _docker_before["containers"] = container_ids()
    _docker_before["network"] = _docker_names("network")
    _docker_before["volume"] = _docker_names("volume")


def xdist_group(item: pytest.Item) -> str:
    """The worker group of a test under ``pytest -n N --dist loadgroup`` (``make test``).

    Every test that uses Docker shares one group, so they never overlap: SageMaker local
    mode binds host port 8080 for endpoints and shares the ``sagemaker-local`` network. A
    lab's cells form one group (they run in one kernel, in order). Other tests are grouped
    by file, so a module's fixtures are set up once."""
    if item.get_closest_marker("docker"):
        return "docker"
    if isinstance(item, LabCell):
        return item.path.stem
    return item.path.relative_to(REPO_ROOT).as_posix()


EXPECTED_SECONDS = {"docker": 10_000.0, "tests/test_isolation.py": 5_000.0}
"""Groups that take longest start first, so that no worker is left with a long one at the
end: the Docker group (Docker labs and tests) first, then the isolation test (the unit tests
that need no Docker), then the labs by their last measured time (``_build/executed``)."""


def _expected_seconds(group: str) -> float:
    if group in EXPECTED_SECONDS:
        return EXPECTED_SECONDS[group]
    executed = next(EXECUTED_DIR.glob(f"*/*/{group}.ipynb"), None)
    if executed is None:
        return 0.0
    try:
        meta = json.loads(executed.read_text(encoding="utf-8"))["metadata"]["labkit"]
        return float(sum(meta["run_seconds"]))
    except (ValueError, KeyError, TypeError):
        return 0.0


def _loadgroup(config: pytest.Config) -> bool:
    # In an xdist worker, "dist" reads "no"; xdist keeps "--dist loadgroup" as "loadgroup".
    return bool(getattr(config.option, "loadgroup", False))


UNIT_DIR = REPO_ROOT / "tests" / "unit"
UNIT_ELSEWHERE = "not (unit and not docker)"
"""make test's -m expression: the unit tests without Docker run in tests/test_isolation.py."""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # A unit module with no Docker test would only be imported (mlflow, tensorboard, moto:
    # seconds per worker) and then deselected: don't collect it at all. A Docker test is
    # marked in its own module (``pytest.mark.docker``), so a module without that text has
    # none.
    if (UNIT_ELSEWHERE in (config.option.markexpr or "") and collection_path.suffix == ".py"
            and UNIT_DIR in collection_path.parents
            and collection_path.name.startswith("test_")
            and "mark.docker" not in collection_path.read_text(encoding="utf-8")):
        return True
    return None


class _StatusDuringCollection:
    """``labkit.docker.docker_status`` answered once while modules are collected.

    Test modules ask it at import time in their ``skipif`` marks (27 ``docker info`` and
    ``docker compose version`` calls per process, about 5 s); the answer cannot change
    within a collection. After collection the kit's own function is back (its unit tests
    fake the commands it runs)."""

    def __init__(self) -> None:
        import labkit.docker

        self.module = labkit.docker
        self.original = labkit.docker.docker_status
        self.answer: Any = None
        labkit.docker.docker_status = self  # type: ignore[assignment]

    def __call__(self) -> Any:
        if self.answer is None:
            self.answer = self.original()
        return self.answer

    def restore(self) -> None:
        self.module.docker_status = self.original  # type: ignore[assignment]


_status_during_collection: _StatusDuringCollection | None = None


def pytest_collection(session: pytest.Session) -> None:
    global _status_during_collection
    _status_during_collection = _StatusDuringCollection()


def pytest_collection_finish(session: pytest.Session) -> None:
    if _status_during_collection is not None:
        _status_during_collection.restore()


def pytest_itemcollected(item: pytest.Item) -> None:
    if UNIT_DIR in item.path.parents:
        # make test runs the unit tests that need no Docker only inside the isolation test
        # (-m "not (unit and not docker)"), and the Docker ones in the Docker worker.
        item.add_marker(pytest.mark.unit)
    if not _loadgroup(item.config):
        return
    group = xdist_group(item)
    item.add_marker(pytest.mark.xdist_group(group))
    # xdist 3.8 tells the group to its scheduler as a "@group" suffix of the test's id, set
    # as ``item._nodeid``; pytest 9.2 keeps the id in ``item._id`` instead, so xdist's
    # suffix is lost and a lab's cells would be spread over workers. Set it here.
    if "@" not in item.nodeid and hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{group}")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if _loadgroup(config):
        groups = {item: xdist_group(item) for item in items}
        cost = {group: _expected_seconds(group) for group in set(groups.values())}
        # Longest first (xdist hands out groups in collection order); a group's tests stay
        # in their order.
        first_index = {}
        for index, item in enumerate(items):
            first_index.setdefault(groups[item], index)
        items.sort(key=lambda item: (-cost[groups[item]], first_index[groups[item]]))
    # The book test renders the labs executed in this session, and the browser test reads
    # the site the book test built: they run last, in that order. (``make test`` runs them
    # in a second pytest after the labs, as a parallel run has no "last".)
    items.sort(key=lambda item: (item.get_closest_marker("book") is not None,
                                 "test_browser" in item.nodeid))


_ran_docker = False
"""Whether this process ran a Docker test (under xdist, only one worker does)."""


def pytest_runtest_setup(item: pytest.Item) -> None:
    global _ran_docker
    if item.get_closest_marker("docker"):
        _ran_docker = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Only the process that ran Docker tests removes what appeared since it started: under
    # xdist another worker's containers may still be running.
    if _ran_docker:
        remove_containers_since(_docker_before.get("containers", set()))
        for kind in ("network", "volume"):
            for name in sorted(_docker_names(kind) - _docker_before.get(kind, set())):
                subprocess.run(["docker", kind, "rm", name], capture_output=True,
                               timeout=60, check=False)
    if _run_root is not None:
        shutil.rmtree(_run_root, ignore_errors=True)


@pytest.fixture(autouse=True)
def course_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test: local backend, its own work folder; a learner's settings never apply."""
    monkeypatch.setenv("COURSE_BACKEND", "local")
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path / "course-work"))
    for key in LEARNER_SETTINGS:
        monkeypatch.delenv(key, raising=False)


# ---------------------------------------------------------------- labs under nbval, twice
def is_lab(path: Path) -> bool:
    return (path.suffix == ".ipynb" and LABS_DIR in path.parents
            and ".ipynb_checkpoints" not in path.parts)


def uses_docker(notebook: Any) -> bool:
    return any("docker=True" in c.source for c in notebook.cells if c.cell_type == "code")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_lab(file_path):
        return LabNotebook.from_parent(parent, path=file_path)
    return None


SWEEP_INSTEAD = """\
import labkit.inventory as _inventory, labkit.session as _session, labkit.sweep as _sweep
_lab = _session.active_lab()
_done = _sweep.delete_course_resources(_lab, _sweep.find_course_resources(_lab),
                                       dry_run=False)
_failed = [f"{r.kind} {r.name}: {outcome}" for r, outcome in _done
           if outcome.startswith("failed")]
_left = _inventory.leftovers(_lab._snapshot, account=_lab.account_id)
_lab._cleanups.clear()  # the sweep did the clean-up; the lab's own deletes have nothing left
_lab.cleanup(verbose=False)
_said = [(r.kind, r.name, o) for r, o in _done if any(r.name in x for x in _left)]
assert not _failed and not _left, ("the sweep failed or left things behind", _failed, _left,
                                   "what the sweep said of those:", _said)
print(f"the sweep deleted {len(_done)} resource(s); nothing left")
"""
"""Run in place of a lab's last cell on its second run: a lab stopped before its clean-up."""


class LabCell(IPyNbCell):
    """One code cell of one run; nbval executes it and checks it raised nothing."""

    def __init__(self, name: str, parent: LabNotebook, cell_num: int, cell: Any,
                 options: dict[str, Any], run: int) -> None:
        super().__init__(name, parent, cell_num, cell, options)
        self.run = run
        self.seconds = 0.0
        self.passed = False

    def runtest(self) -> None:
        started = time.perf_counter()
        try:
            super().runtest()
        finally:
            self.seconds = time.perf_counter() - started
        if self.run == 1:
            unfindable = self.parent.unfindable_now()
            if unfindable:
                raise AssertionError(
                    f"a learner who stops after code cell {self.cell_num} leaves resources that "
                    "lab 99's sweep cannot find (tag them or give them the course prefix):\n"
                    + "\n".join(unfindable))
        self.passed = True

    def reportinfo(self) -> tuple[Any, int, str]:
        rel = self.path.relative_to(REPO_ROOT)
        return self.path, 0, f"{rel}::run {self.run}::cell {self.cell_num}"

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return f"run {self.run} of {self.path.name}, code cell {self.cell_num}\n" + str(
            super().repr_failure(excinfo))


class LabNotebook(IPyNbFile):
    """A lab: its code cells, twice, in one kernel started on the local backend."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compare_outputs = False  # the labs' asserts are the checks, not stored outputs
        self.cells: list[LabCell] = []

    def collect(self):  # type: ignore[no-untyped-def]
        self.nb = nbformat.read(str(self.path), as_version=4)
        marks = [pytest.mark.docker] if uses_docker(self.nb) else []
        runs = int(os.environ.get("COURSE_LAB_RUNS", "2"))  # 1: once, e.g. on a 2nd Python
        last = sum(c.cell_type == "code" for c in self.nb.cells) - 1
        for run in range(1, runs + 1):
            number = 0
            for cell in self.nb.cells:
                if cell.cell_type != "code":
                    continue
                name = f"run {run} · cell {number}"
                if run == 2 and number == last:
                    # The second run is interrupted before its clean-up cell: lab 99's sweep
                    # must find and delete everything the lab made, leaving nothing behind.
                    cell, name = nbformat.v4.new_code_cell(SWEEP_INSTEAD), (
                        f"run 2 · sweep instead of cell {number}")
                item = LabCell.from_parent(
                    self, name=name, cell_num=number, cell=cell,
                    options=defaultdict(bool, check=False), run=run)
                for mark in marks:
                    item.add_marker(mark)
                self.cells.append(item)
                yield item
                number += 1

    def setup(self) -> None:
        if uses_docker(self.nb):
            from labkit.docker import docker_status

            if not docker_status().ok:
                pytest.skip("this lab needs a Docker engine")
        assert _run_root is not None
        work = _run_root / "labs" / self.path.stem
        self.kinds_log = _run_root / "kinds" / f"{self.path.stem}.tsv"
        self.kinds_log.parent.mkdir(exist_ok=True)
        # Every Python process of the lab (kernel, local-mode driver, helpers) logs its
        # connections and name lookups (tests/offline/audit): teardown checks the log.
        self.network_log = _run_root / "network" / f"{self.path.stem}.jsonl"
        self.network_log.parent.mkdir(exist_ok=True)
        self.network_log.unlink(missing_ok=True)
        self.started_at = int(time.time())
        env = {"COURSE_BACKEND": "local", "COURSE_WORKDIR": str(work),
               "COURSE_KINDS_LOG": str(self.kinds_log),
               "NETWORK_AUDIT_LOG": str(self.network_log),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(AUDIT_DIR),
                                                           os.environ.get("PYTHONPATH")]))}
        if self.path.stem in HOSTILE_LABS:
            # credentials that would work, were they real (the Region stays the course's,
            # so the book shows the same one on every page)
            env.update({k: v for k, v in REAL_LOOKING.items() if k != "AWS_DEFAULT_REGION"})
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            super().setup()  # starts the kernel, which inherits this environment
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def unfindable_now(self) -> list[str]:
        """Ask the lab's kernel what the sweep could not find if the lab stopped here."""
        expression = ("__import__('json').dumps(__import__('labkit.inventory', fromlist=['_'])"
                      ".unfindable(__import__('labkit.session', fromlist=['_']).active_lab()))")
        kernel = self.kernel
        msg_id = kernel.kc.execute("", silent=True, store_history=False,
                                   user_expressions={"unfindable": expression})
        while True:
            reply = kernel.get_message(stream="shell", timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        found = reply["content"].get("user_expressions", {}).get("unfindable", {})
        if found.get("status") != "ok":
            return [f"the check itself failed: {found.get('ename')}: {found.get('evalue')}"]
        return list(json.loads(ast.literal_eval(found["data"]["text/plain"])))

    def teardown(self) -> None:
        super().teardown()
        self.check_offline()
        # Every kind of resource the lab created is one lab 99's sweep knows how to delete.
        log = getattr(self, "kinds_log", None)
        if log is not None and log.exists():
            from labkit.inventory import unknown_kinds

            kinds = {line.split("\t")[1] for line in log.read_text().splitlines() if line}
            unknown = unknown_kinds(kinds)
            if unknown:
                raise AssertionError(f"{self.path.name} creates kinds the sweep cannot delete: "
                                     f"{unknown}")
        # Only a full run (twice in one kernel, every cell passed) is handed to the book.
        if self.cells and all(c.passed for c in self.cells) and self.cells[-1].run == 2:
            self.write_executed()

    def check_offline(self) -> None:
        """The lab talked to nothing but this machine, in the venv's kernel, and pulled no
        image (its containers talk to the engine through a Unix socket, counted as local,
        so the engine itself is asked)."""
        log = getattr(self, "network_log", None)
        if log is None:
            return  # skipped before its kernel started
        events = [json.loads(line) for line in log.read_text().splitlines()] if (
            log.exists()) else []
        kernels = [e for e in events if e["event"] == "start" and e["argv"][:1] == ["-m"]]
        assert kernels, f"{self.path.name}: the audit hook did not load in the lab's kernel"
        assert {e["prefix"] for e in kernels} == {sys.prefix}, (
            f"{self.path.name} ran in another interpreter: {kernels}")
        # Lab 04's probe tries the network from a new, empty namespace (unshare --net):
        # such a process reaches nothing, so only this namespace counts.
        here = os.readlink("/proc/self/ns/net")
        off_machine = [e for e in events if e["event"] != "start"
                       and not is_on_this_machine(e["target"]) and e.get("netns", here) == here]
        assert not off_machine, f"{self.path.name} reached off this machine: {off_machine[:5]}"
        if uses_docker(self.nb):
            pulls = subprocess.run(
                ["docker", "events", "--since", str(self.started_at),
                 "--until", str(int(time.time()) + 1), "--filter", "type=image",
                 "--filter", "event=pull", "--format", "{{json .}}"],
                capture_output=True, text=True, timeout=60, check=True).stdout.split()
            assert not pulls, f"{self.path.name}: the Docker engine pulled {pulls}"

    def write_executed(self) -> None:
        """Save the first run's outputs and timings for the book test and the benchmark.

        From the notebook as collected (the code that ran), not as it is on disk now: an
        edit during the run would pair outputs with other cells. The source digest then
        tells the book test that the lab changed since, and it executes the lab itself."""
        nb = copy.deepcopy(self.nb)
        first = [c for c in self.cells if c.run == 1]
        code = [c for c in nb.cells if c.cell_type == "code"]
        for count, (cell, item) in enumerate(zip(code, first, strict=True), start=1):
            cell.execution_count = count
            outputs = []
            for out in item.test_outputs or []:
                out = nbformat.from_dict(dict(out))
                if "execution_count" in out:
                    out["execution_count"] = count
                outputs.append(out)
            cell.outputs = outputs
            cell.metadata.setdefault("labkit", {})["seconds"] = round(item.seconds, 2)
        runs = {run: sum(c.seconds for c in self.cells if c.run == run) for run in (1, 2)}
        nb.metadata["labkit"] = {
            "source_sha256": source_digest(nb),
            "run_seconds": [round(runs[1], 2), round(runs[2], 2)],
            "startup_seconds": round(first[0].seconds, 2),  # import labkit, start_lab
            "executed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        target = EXECUTED_DIR / self.path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(target)
