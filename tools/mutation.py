"""Mutation testing of the kit's core with mutmut 3 (pinned in requirements.txt).

    python tools/mutation.py                 # every target, one after another
    python tools/mutation.py guard events    # some modules
    python tools/mutation.py --list          # every target, with its tests

For each module the script copies ``labkit/`` and the module's unit tests into a temporary
folder (the other top-level folders, such as ``labs/``, are linked, not copied) and writes a
``[tool.mutmut]`` table there, so mutmut's ``mutants/`` folder and its mutated copies never
appear in the checkout that other people and processes import from. mutmut changes one thing
at a time in the module's functions (an operator, a constant, a string, an argument) and
runs the tests that reach that function; a mutant is *killed* when a test fails (or times
out) and *survives* when they all pass. The script prints killed / total and the diff of
every survivor, then removes the temporary folder (``--keep`` leaves it).

Besides mutmut's own mutants, ``PLANTED`` holds hand-written bugs that mutmut cannot make
(issue 20's planted bugs): each is applied to a copy and the tests must fail.

Only pytest's own plugins are loaded (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) and the root
``conftest.py`` is skipped (it lists Docker objects at start and end); its isolation is
applied here instead: ``COURSE_BACKEND=local`` and a work folder and ``HOME`` inside the
temporary folder. Exit status 0 when every module reached ``--target`` percent (90 by
default) and every planted bug was caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    module: str  # path inside the repository
    tests: tuple[str, ...]  # test files
    select: tuple[str, ...] = ()  # more pytest arguments, e.g. ("-k", "...")
    timeout_s: int = 120  # for the whole run of one module's tests on one mutant
    support: tuple[str, ...] = ()  # helper files the tests import (copied, not run)


TARGETS: dict[str, Target] = {
    "guard": Target("labkit/guard.py", ("tests/unit/test_guard.py",)),
    "backend": Target("labkit/backend.py", ("tests/unit/test_backend.py",)),
    # only the tests of labkit.events (the rest of the file tests lab 02's consumer)
    "events": Target("labkit/events.py", ("tests/unit/test_events.py",),
                     ("-k", "queue_depth or wait_for or bucket_delivers or long_poll "
                            "or probe")),
    "session": Target("labkit/session.py", ("tests/unit/test_session.py",
                                            "tests/unit/test_billable.py",
                                            "tests/unit/test_session_mutants.py"),
                      support=("tests/unit/awsfake.py",)),
    # The fast tests only: a fake AWS typed by hand (test_sweep.py's moto round trips take
    # 18 s a run, too slow for some 900 mutants; they still run in make test).
    "sweep": Target("labkit/sweep.py", ("tests/unit/test_sweep_mutants.py",),
                    support=("tests/unit/awsfake.py",)),
    "schedules": Target("labkit/standins/schedules.py", ("tests/unit/test_schedules.py",
                                                         "tests/unit/test_schedules_mutants.py")),
}
DEFAULT = ("guard", "backend", "events", "session", "sweep", "schedules")

# Equivalent mutants: they change the code but no input can tell the difference, so the
# score leaves them out (a survivor is left out only when its diff matches an entry here).
# Each entry: (function, a text the mutant removes, texts one of which it puts in, why it
# is equivalent); compared with the mutant's "-" and "+" lines.
EQUIVALENT: dict[str, list[tuple[str, str, tuple[str, ...], str]]] = {
    "sweep": [
        ("_find_model_packages", 'owned = f.resource("x",',
         ('owned = f.resource("XXxXX",', 'owned = f.resource("X",', "owned = f.resource(None,"),
         "the kind given to the group's ownership probe is never read"),
        ("", '.rsplit("/", 1)[-1]', ('.rsplit("/", )[-1]', '.rsplit("/", 2)[-1]',
                                     '.rsplit("/", 1)[+1]'),
         "the last piece of a split does not depend on the limit, and a one-limit split of "
         "an ARN or URL (which always holds the separator) has two pieces, so [1] is [-1]"),
        ("", '.rsplit(":", 1)[-1]', ('.rsplit(":", )[-1]', '.rsplit(":", 2)[-1]',
                                     '.rsplit(":", 1)[+1]'),
         "the last piece of a split does not depend on the limit, and a one-limit split of "
         "an ARN (which always holds the separator) has two pieces, so [1] is [-1]"),
        ("", "tags: dict[str, str] = {}", ("tags: dict[str, str] = None",),
         "_Finder.resource reads None as no tags"),
        ("_find_queues", 'QueueUrl=url).get("Tags", {})',
         ('QueueUrl=url).get("Tags", None)', 'QueueUrl=url).get("Tags", )'),
         "_Finder.resource reads None as no tags"),
        ("delete_course_resources", '"ResourceNotFound", "Could not find"))',
         ('"XXResourceNotFoundXX", "Could not find"))', '"resourcenotfound", "Could not find"))',
          '"RESOURCENOTFOUND", "Could not find"))'),
         "every text holding ResourceNotFound also holds NotFound, an earlier marker"),
        ("_find_jobs", 'key = {"tuning": "HyperParameterTuningJobSummaries"}',
         ('.get(None, f"{plural}Summaries")', '{"TUNING":', '{"XXtuningXX":'),
         "the special case equals the general rule: HyperParameterTuningJob + Summaries"),
        ("", "HOURLY_USD.get(", ('(None, "XXXX"))[0]',),
         "the default's second item (the pricing page) is never read"),
        ("_find_alarms", 'dims = " ".join(str(d.get("Value", ""))',
         ('"XX XX".join(', 'd.get("Value", None)', 'd.get("Value", )', 'd.get("Value", "XXXX")'),
         "only whether the first dimension's value starts with the prefix is read"),
        ("course_vpcs", 'if _owned("", tags) and self.mine(tags.get("Name", ""), "", tags, {})',
         ('_owned("XXXX", tags)', '"Name", ""), None, tags', 'tags.get("Name", None)',
          'tags.get("Name", )', 'tags.get("Name", "XXXX")', '"Name", ""), "XXXX", tags'),
         "an empty name, None and 'XXXX' all fail the prefix and the token tests alike "
         "(mine() skips empty and None texts)"),
        ("table", "now = dt.datetime.now(dt.timezone.utc)", ("now = None",),
         "age(None) reads the clock itself"),
        ("table", '"age": r.age(now)', ('"age": r.age(None)',),
         "age(None) reads the clock itself"),
        ("_delete_experiment", '_delete_trial(lab, CourseResource("", "sagemaker:'
         'experiment-trial",', ('CourseResource("", None,', '"XXsagemaker:experiment-trialXX"',
                                '"SAGEMAKER:EXPERIMENT-TRIAL"'),
         "the kind of the trial handed to _delete_trial is never read"),
    ],
    "session": [
        ("_moto_model_package_delete", 'json.loads(params.get("body") or b"{}")',
         ('or b"XX{}XX")',),
         "botocore always sends a JSON body for these two operations (each has a required "
         "parameter), so the default is never parsed"),
        ("_moto_model_package_delete", 'AWSResponse("https://sagemaker.local"',
         ("AWSResponse(None,", 'AWSResponse("XXhttps://sagemaker.localXX"',
          'AWSResponse("HTTPS://SAGEMAKER.LOCAL"'),
         "botocore reads the short-circuit response's status and parsed body, never its URL"),
        ("moto_server_url", "verbose=False)", ("verbose=None)",),
         "moto reads verbose only as a truth value (None and False both print nothing)"),
        ("_forget", "contextlib.suppress(ValueError)", ("contextlib.suppress(None)",),
         "_forget is called only right after on_cleanup appended the entry, with nothing "
         "between that could remove it, so list.remove never raises"),
        ("_active_lab_hook", 'event_name: str = "",', ('event_name: str = "XXXX",',),
         "a default without two dots gives the service '' either way"),
        ("_active_lab_hook", 'if event_name.count(".") >= 2 else ""',
         ('if event_name.count(".") >= 2 else "XXXX"',),
         "BILLABLE has no service '' nor 'XXXX': both mean not billable"),
        ("execution_role_arn", 'RoleName=name).get("Tags", [])}',
         ('.get("Tags", None)}', '.get("Tags", )}'),
         "ListRoleTags always returns Tags (required in the IAM API's response shape)"),
        ("clean_up_by_tag", "find_everything(self, only_lab=self.name, kinds=kinds)",
         ("only_lab=None,", "find_everything(self, kinds=kinds)"),
         "the stricter filter on the lab tag just after keeps only this lab's resources"),
        ("clean_up_by_tag", 'mine = [r for r in found if (r.lab or "").split(" ")[0] == ',
         ('(r.lab or "").split(None)[0]', '(r.lab or "XXXX").split(" ")[0]'),
         "find_everything(only_lab=...) has already kept only resources whose lab tag's first "
         "space-separated piece is the lab's name or number, which no whitespace split or "
         "'XXXX' tells apart"),
        ("_moto_model_package_delete", 'params.get("context", {}).get("client_region")',
         ('params.get("context", None).get(', 'params.get("context", ).get('),
         "botocore's before-call request dict always holds a context"),
        ("clean_up_by_tag", "delete_course_resources(self, mine, dry_run=False)",
         ("dry_run=None)",), "dry_run is read only as a truth value"),
        ("bucket", 'code = str(exc.response.get("Error", {}).get("Code", ""))',
         ('.get("Code", None))', '.get("Code", ))', '.get("Error", None).get(',
          '.get("Error", ).get(', '.get("Code", "XXXX"))'),
         "botocore's ClientError always carries Error.Code (for a bodiless HEAD it is the "
         "HTTP status), and '', 'None' and 'XXXX' are none of the codes compared"),
        ("bucket", "exists = False", ("exists = None",), "exists is read only as a truth value"),
        ("start_lab", "_active.cleanup(verbose=False)", ("_active.cleanup(verbose=None)",),
         "verbose is read only as a truth value"),
        ("cleanup", 'with open(log, "a", encoding="utf-8") as out:',
         ('encoding=None) as out:', 'open(log, "a", ) as out:', 'encoding="UTF-8") as out:'),
         "the log holds ASCII lab names and kinds only, the same in every encoding"),
        ("_close", "self._mock = None", ('self._mock = ""',),
         "_mock is not read after the lab is closed (_close returns early once closed)"),
        ("_install_billable_guard", 'unique_id=f"labkit-billable-{service}-{operation}")',
         ("unique_id=None)", "events.register(event, hook, )"),
         "each lab's botocore session is its own and gets each hook once, so the id never "
         "stops a duplicate there"),
        ("resource_name", 'self.name.split("-", 1)[0]',
         ('self.name.split("-", )[0]', 'self.name.split("-", 2)[0]'),
         "the first piece of a split does not depend on the limit"),
    ],
}


def equivalent_reason(name: str, mutant: str, diff: str) -> str | None:
    """Why the survivor ``mutant`` (shown as ``diff``) is equivalent, or None."""
    removed = [line[1:].strip() for line in diff.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    function = mutant.split("__mutmut_")[0]
    for where, old, new, why in EQUIVALENT.get(name, []):
        if where and not function.endswith(where) and f"ǁ{where}" not in function:
            continue
        if any(old in line for line in removed) and any(
                fragment in line for fragment in new for line in added):
            return why
    return None


# Hand-written bugs (issue 20) that mutmut's operators do not produce: (old, new) text.
PLANTED: dict[str, list[tuple[str, str, str]]] = {
    "guard": [(
        "a prefix match on the host name (accepts localhost.evil.example)",
        "    if host in _LOCAL_NAMES:\n",
        "    if any(host.startswith(name) for name in _LOCAL_NAMES):\n",
    )],
}

_SKIP_LINK = {"labkit", "tests", "conftest.py", "pyproject.toml", "mutants", "build",
              "_build", "labkit.egg-info"}


def _prepare(work: Path, target: Target) -> None:
    shutil.copytree(REPO / "labkit", work / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for test in (*target.tests, *target.support):
        (work / test).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / test, work / test)
    for entry in REPO.iterdir():
        if entry.name not in _SKIP_LINK and not entry.name.startswith("."):
            (work / entry.name).symlink_to(entry)
    pytest_args = ["--noconftest", "-p", "no:cacheprovider", "-p", "pytest_timeout",
                   *target.select]
    (work / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        f"source_paths = [{_toml(target.module)}]\n"
        'also_copy = ["labkit/"]\n'  # the rest of the kit, unmutated
        f"pytest_add_cli_args_test_selection = [{', '.join(map(_toml, target.tests))}]\n"
        f"pytest_add_cli_args = [{', '.join(map(_toml, pytest_args))}]\n"
        "[tool.pytest.ini_options]\n"
        f"timeout = {target.timeout_s}\n"
    )


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", COURSE_BACKEND="local",
        COURSE_WORKDIR=str(work / ".course-work"), HOME=str(work / ".home"),
        PYTHONWARNINGS="ignore::UserWarning",
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "COURSE_REGION", "PYTHONPATH"):
        env.pop(name, None)
    (work / ".home").mkdir(exist_ok=True)
    return env


def _pytest(work: Path, target: Target, env: dict[str, str]) -> int:
    """Run the module's tests in ``work`` against the copy there; return pytest's status."""
    env = dict(env, PYTHONPATH=str(work))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "--noconftest", "-p", "no:cacheprovider",
         "-p", "pytest_timeout", *target.tests, *target.select],
        cwd=work, env=env, capture_output=True, text=True, check=False).returncode


def planted(name: str, work: Path, env: dict[str, str]) -> list[str]:
    """Apply each hand-written bug of ``name`` in turn; return those the tests missed."""
    target, missed = TARGETS[name], []
    path = work / target.module
    original = path.read_text()
    for label, old, new in PLANTED.get(name, []):
        if original.count(old) != 1:
            missed.append(f"{label} (the code changed: update PLANTED)")
            continue
        path.write_text(original.replace(old, new))
        try:
            if _pytest(work, target, env) == 0:
                missed.append(label)
        finally:
            path.write_text(original)
    return missed


def run(name: str, keep: bool, children: int = 1
        ) -> tuple[int, int, list[tuple[str, str]], list[str], float]:
    """Mutate one module; return (killed, total, survivors, planted missed, seconds)."""
    target = TARGETS[name]
    work = Path(tempfile.mkdtemp(prefix=f"mle-mutation-{name}-"))
    started = time.monotonic()
    try:
        _prepare(work, target)
        env = _env(work)
        if _pytest(work, target, env) != 0:
            raise SystemExit(f"{name}: the tests fail before any mutation")
        missed = planted(name, work, env)
        mutmut = str(Path(sys.executable).parent / "mutmut")
        done = subprocess.run([mutmut, "run", "--max-children", str(children)], cwd=work,
                              env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name}: mutmut failed:\n{done.stdout[-3000:]}"
                             f"\n{done.stderr[-3000:]}")
        listing = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, env=env,
                                 capture_output=True, text=True, check=True).stdout
        statuses = dict(re.findall(r"^\s*(\S+__mutmut_\d+): (.+)$", listing, re.M))
        counted = {k: v for k, v in statuses.items() if v != "skipped"}
        by_status: dict[str, int] = {}
        for status in counted.values():
            by_status[status] = by_status.get(status, 0) + 1
        print(f"{name}: mutmut says "
              + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())))
        survivors, equivalent = [], 0
        for mutant, status in counted.items():
            if status in ("survived", "no tests", "not checked"):
                shown = subprocess.run([mutmut, "show", mutant], cwd=work, env=env,
                                       capture_output=True, text=True, check=False).stdout
                why = equivalent_reason(name, mutant, shown) if status == "survived" else None
                if why is not None:
                    equivalent += 1
                    print(f"-- equivalent: {mutant}: {why}")
                    continue
                survivors.append((f"{mutant} ({status})", shown.strip()))
        total = len(counted) - equivalent
        print(f"{name}: {equivalent} equivalent mutant(s) left out of the score")
        return total - len(survivors), total, survivors, missed, time.monotonic() - started
    finally:
        if keep:
            print(f"(kept {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=list(DEFAULT),
                        help=f"any of {', '.join(TARGETS)} (default: {' '.join(DEFAULT)})")
    parser.add_argument("--target", type=float, default=90.0, help="percent to reach")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--children", type=int, default=1,
                        help="mutants tested at once (default 1: the machine is shared)")
    args = parser.parse_args(argv)
    if args.list:
        for name, t in TARGETS.items():
            print(f"{name:10} {t.module:22} {' '.join(t.tests + t.select)}"
                  f"{'' if name in DEFAULT else '   (not in the default set yet)'}")
        return 0
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}")
    ok, rows = True, []
    for name in args.modules:
        killed, total, survivors, missed, seconds = run(name, args.keep, args.children)
        score = 100.0 * killed / total if total else 100.0
        ok = ok and score >= args.target and not missed
        rows.append(f"{name:10} {killed:4d} / {total:<4d} killed  {score:5.1f} %  "
                    f"planted bugs missed: {len(missed)}  ({seconds:.0f} s)")
        print(f"\n== {name}: {killed} / {total} mutants killed ({score:.1f} %), "
              f"{len(survivors)} survived, {seconds:.0f} s")
        for label in missed:
            print(f"-- planted bug NOT caught: {label}")
        for mutant, diff in survivors:
            print(f"-- survived: {mutant}\n   " + diff.replace("\n", "\n   "))
        sys.stdout.flush()
    print("\n" + "\n".join(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
