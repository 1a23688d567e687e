"""Practice questions test knowledge, not test-taking (AUTHORING.md, "Practice questions").

Over the whole book: each letter is the key of 20-30 % of the single-answer questions, the key
is the longest option at most 30 % of the time, no chapter keys one letter in more than half
of its questions; every question names its exam task; every multiple-response item says how
many to choose; the exam's other formats exist in the numbers the course promises.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import pytest

from labkit.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "_ext"))
import practice_questions as pq  # noqa: E402

QUESTIONS, CASES = pq.parse_book(REPO_ROOT)
SINGLE = [q for q in QUESTIONS if q.kind == "single"]
TOPIC_CHAPTERS = sorted({q.chapter for q in QUESTIONS if "/00-" not in q.chapter
                         and not q.chapter.endswith(("setup", "how-the-labs-run"))})


def is_longest(q: pq.Question) -> bool:
    lengths = {k: len(v) for k, v in q.options.items()}
    return lengths[q.key[0]] == max(lengths.values())


def test_the_book_has_its_questions():
    assert len(QUESTIONS) >= 150
    assert len(TOPIC_CHAPTERS) >= 19


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.label)
def test_question_is_well_formed(q: pq.Question):
    assert not q.problems, q.problems
    assert q.task in pq.TASKS, f"task {q.task!r} is not an MLA-C01 task statement"
    letters = sorted(q.options)
    if q.kind == "single":
        assert letters == list("ABCD") and len(q.key) == 1
    elif q.kind == "multiple":
        choose = pq.CHOOSE.search(q.stem)
        assert choose, "a multiple-response item says how many to choose: (Choose TWO.)"
        assert len(q.key) == {"TWO": 2, "THREE": 3}[choose.group(1)]
        assert letters == list("ABCDE"), "multiple-response items have five options"
    elif q.kind == "order":
        assert sorted(q.key) == letters, "an ordering key lists every step once"
    elif q.kind == "match":
        assert len(q.key) == len(q.items) >= 3, "a matching key pairs every numbered item"
        assert set(q.key) <= set(letters)
    assert len(q.explanation) > 80, "the answer is explained"


def test_keys_are_balanced_across_the_book():
    counts = collections.Counter(q.key[0] for q in SINGLE)
    shares = {k: counts[k] / len(SINGLE) for k in "ABCD"}
    print("key shares:", {k: f"{100 * v:.0f} %" for k, v in shares.items()})
    assert all(0.20 <= v <= 0.30 for v in shares.values()), shares


def test_no_chapter_keys_one_letter_in_more_than_half():
    by_chapter = collections.defaultdict(collections.Counter)
    for q in SINGLE:
        by_chapter[q.chapter][q.key[0]] += 1
    # (a chapter with one or two questions, like the set-up page's, cannot spread its keys)
    heavy = {c: dict(n) for c, n in by_chapter.items()
             if sum(n.values()) >= 4 and max(n.values()) > sum(n.values()) / 2}
    assert not heavy, heavy


def test_the_key_is_rarely_the_longest_option():
    rate = sum(is_longest(q) for q in SINGLE) / len(SINGLE)
    print(f"key is the longest option in {100 * rate:.0f} % of {len(SINGLE)}")
    assert rate <= 0.30


def test_the_exam_formats_exist():
    kinds = collections.Counter(q.kind for q in QUESTIONS)
    print("formats:", dict(kinds), "case studies:", len(CASES))
    assert kinds["order"] + kinds["match"] >= 6
    with_multiple = {q.chapter for q in QUESTIONS if q.kind == "multiple"}
    assert set(TOPIC_CHAPTERS) <= with_multiple, set(TOPIC_CHAPTERS) - with_multiple
    assert len(CASES) >= 2
    for title in CASES:
        assert sum(q.case == title for q in QUESTIONS) >= 2, f"case study {title!r}"
    assert all(q.case in CASES for q in QUESTIONS if q.case), "a case question names a case"


MIN_PER_TASK = 3
"""Every MLA-C01 task statement is trained by at least this many questions (issue 18)."""
MAX_DOMAIN_GAP = 5
"""A domain's share of the bank may differ from its exam weight by this many points at most."""


def coverage_problems(questions: list[pq.Question]) -> list[str]:
    """What keeps a bank from mirroring the exam guide: thin task statements, skewed domains."""
    tasks = collections.Counter(q.task for q in questions)
    domains = collections.Counter(q.domain for q in questions)
    problems = [f"task {t}: {tasks[t]} questions, fewer than {MIN_PER_TASK}"
                for t in sorted(pq.TASKS) if tasks[t] < MIN_PER_TASK]
    for d, (name, weight) in pq.DOMAINS.items():
        share = 100 * domains[d] / max(len(questions), 1)
        if abs(share - weight) > MAX_DOMAIN_GAP:
            problems.append(f"domain {d} ({name}): {share:.1f} % of the questions, "
                            f"exam weight {weight} %, more than {MAX_DOMAIN_GAP} points apart")
    return problems


def test_questions_per_domain_and_task_follow_the_exam_guide():
    """Each task statement has at least three questions and each domain's share of the bank is
    within five points of its exam weight. Also printed, for the closing note and the
    exam-coverage issue: how the bank maps onto the exam guide."""
    domains = collections.Counter(q.domain for q in QUESTIONS)
    tasks = collections.Counter(q.task for q in QUESTIONS)
    for d, (name, weight) in pq.DOMAINS.items():
        share = 100 * domains[d] / len(QUESTIONS)
        per_task = ", ".join(f"{t} {tasks[t]}" for t in sorted(tasks) if t.startswith(d + "."))
        print(f"domain {d} {name}: {domains[d]} ({share:.0f} %, exam {weight} %); {per_task}")
    assert sum(domains.values()) == len(QUESTIONS)
    problems = coverage_problems(QUESTIONS)
    assert not problems, "\n".join(problems)


def test_the_coverage_check_catches_a_skew():
    """The check above can fail: a bank that lost most of its data-preparation questions, or
    one task statement's questions, is reported."""
    thinned = [q for i, q in enumerate(QUESTIONS) if q.domain != "1" or i % 4 == 0]
    assert any(p.startswith("domain 1") for p in coverage_problems(thinned))
    without_task = [q for q in QUESTIONS if q.task != "4.2"]
    assert "task 4.2: 0 questions, fewer than 3" in coverage_problems(without_task)


def test_the_mock_exam_can_draw_each_domain_by_its_weight():
    """The mock exam (_ext/mock_exam.js) draws TOTAL questions, the weights times TOTAL rounded
    by largest remainder; the page's data must hold that many usable questions per domain, or
    the exam silently fills the gap from other domains."""
    script = (REPO_ROOT / "_ext" / "mock_exam.js").read_text(encoding="utf-8")
    total = int(re.search(r"const TOTAL = (\d+);", script).group(1))
    data = pq._exam_data(REPO_ROOT, "chapters/reference/mock-exam")
    have = collections.Counter(q["domain"] for q in data["questions"])
    domains = sorted(data["domains"])
    raw = [data["domains"][d]["weight"] * total / 100 for d in domains]
    want = [int(v) for v in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - want[i], reverse=True)
    for i in by_remainder[: total - sum(want)]:
        want[i] += 1
    print("mock exam form:", dict(zip(domains, want)), "available:", dict(have))
    assert sum(want) == total == 65
    short = {d: (have[d], w) for d, w in zip(domains, want) if have[d] < w}
    assert not short, f"too few questions for the mock exam's draw (have, want): {short}"
    assert len(data["questions"]) == len([q for q in QUESTIONS if not q.problems and q.task])
