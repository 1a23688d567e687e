"""The instructor's edition is generated from the chapters and the executed labs: every
question keyed and explained, every misconception collected, every chapter with a plan and
slides, minutes that follow the measured run times, checkpoints from the lab's outputs, and
slides that open with no network."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "_ext"))

import instructor  # noqa: E402


@pytest.fixture(scope="module")
def chapters() -> list[instructor.Chapter]:
    return instructor.load_chapters(ROOT)


def test_every_question_of_every_chapter_is_keyed(chapters):
    for chapter in chapters:
        text = (ROOT / f"{chapter.docname}.md").read_text(encoding="utf-8")
        assert len(chapter.questions) == text.count(":::{exercise}"), chapter.docname
        for q in chapter.questions:
            assert q.key != "?", (chapter.docname, q.title)
            assert q.label, (chapter.docname, q.title)
            if q.kind in ("single", "multiple"):
                assert set(q.keys) <= set(q.options), (chapter.docname, q.title, q.key)
                assert len(q.options) in (4, 5), (chapter.docname, q.title)


def test_most_distractors_get_their_own_explanation(chapters):
    total = explained = 0
    for chapter in chapters:
        for q in chapter.questions:
            if q.kind not in ("single", "multiple"):
                continue
            reasons = q.distractor_reasons()
            for letter in q.options:
                if letter not in q.keys:
                    total += 1
                    explained += letter in reasons
    assert total > 100
    assert explained / total > 0.9, f"{explained} of {total} distractors explained"


def test_distractor_reasons_come_from_the_sentences_that_name_them():
    q = instructor.Question(
        "chapters/x/y", 1, "Question 1 · Task 3.1", "3.1", "x-q1", "Stem.",
        {"A": "a", "B": "b", "C": "c", "D": "d"}, "single", "C",
        "Because it fits. **A** is too small. **B** and **D** cost more all day.")
    assert q.distractor_reasons() == {"A": "**A** is too small.",
                                      "B": "**B** and **D** cost more all day.",
                                      "D": "**B** and **D** cost more all day."}


def test_every_question_has_an_aws_page(chapters):
    for chapter in chapters:
        for q in chapter.questions:
            assert q.link and q.link[1].startswith("https://"), (chapter.docname, q.title)


def test_every_misconception_callout_is_collected(chapters):
    collected = sum(len(c.misconceptions) for c in chapters)
    in_text = sum(len(re.findall(r"^:::\{admonition\} Common misconception", (
        ROOT / f"{c.docname}.md").read_text(encoding="utf-8"), re.M)) for c in chapters)
    assert collected == in_text > 0
    assert all(m.body and "misconception" not in m.body.split("\n")[0] for c in chapters
               for m in c.misconceptions)


def test_every_chapter_has_a_session_plan_page(chapters):
    for chapter in chapters:
        page = ROOT / "instructor" / "sessions" / f"{chapter.stem}.md"
        assert page.exists(), f"no session plan for {chapter.docname}"
        text = page.read_text(encoding="utf-8")
        assert "{instructor-plan} " + chapter.docname in text
        for section in ("## Opening scenario", "## Discussion prompts", "## When short of time"):
            assert section in text, (page.name, section)


def test_minutes_follow_the_measured_run_time(chapters):
    chapter = next(c for c in chapters if c.labs)
    quick = instructor.LabRun(chapter.labs[0], True, seconds=30, code_cells=10)
    slow = instructor.LabRun(chapter.labs[0], True, seconds=600, code_cells=10)
    unrun = instructor.LabRun(chapter.labs[0], True, seconds=None, code_cells=10)
    m_quick = instructor.session_minutes(chapter, [quick])
    m_slow = instructor.session_minutes(chapter, [slow])
    m_unrun = instructor.session_minutes(chapter, [unrun])
    # 2 x 0.5 min + 0.5 x 10 cells + 5 = 11 -> 15; 2 x 10 min + 5 + 5 = 30
    assert (m_quick.lab, m_slow.lab) == (15, 30)
    assert m_unrun.lab == instructor.round5(
        2 * instructor.DEFAULT_RUN_SECONDS / 60 + 0.5 * 10 + 5)
    assert m_quick.teaching == m_slow.teaching and m_quick.total < m_slow.total


def test_run_time_and_outputs_come_from_the_executed_copy(tmp_path):
    lab = "labs/98-part/98-unit-test"
    stored = {"cells": [
        {"cell_type": "markdown", "source": "# Lab 98 · A test\n\n| | |\n|:--|:--|\n"
                                             "| **Objectives** | Count to three |\n"},
        {"cell_type": "code", "source": "import labkit", "outputs": []},
        {"cell_type": "markdown", "source": "## 1 · Count"},
        {"cell_type": "code", "source": "n = 3\nprint('n =', n)\nassert n == 3",
         "outputs": []},
        {"cell_type": "code", "source": "problems = lab.cleanup()\nassert not problems",
         "outputs": []}], "metadata": {}}
    import copy
    import json

    (tmp_path / "labs" / "98-part").mkdir(parents=True)
    (tmp_path / f"{lab}.ipynb").write_text(json.dumps(stored))
    run = instructor.lab_run(None, tmp_path, lab)
    assert run.exists and run.seconds is None and run.notebook is None
    assert run.header["Objectives"] == "Count to three" and run.code_cells == 3

    executed = copy.deepcopy(stored)
    executed["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                        "text": "n = 3\n"}]
    executed["metadata"]["labkit"] = {"run_seconds": [12.5, 3.0]}
    target = tmp_path / "_build" / "executed" / f"{lab}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(executed))
    run = instructor.lab_run(None, tmp_path, lab)
    assert run.seconds == 12.5 and run.notebook is not None
    assert instructor.checkpoints(run.notebook) == [("1 · Count", "[2]", "n = 3")]
    rows = instructor.classify_cells(run.notebook)
    assert rows[0] == ("Start", ["[1]"], []) and rows[-1][1][-1] == "[3]"
    # a cell the test run timed as slow is shown pre-run, whatever it contains
    run.notebook["cells"][3]["metadata"] = {"labkit": {"seconds": 42.0}}
    rows = instructor.classify_cells(run.notebook)
    assert rows[1] == ("1 · Count", ["[3]"], ["[2] (took 42 s)"])


def test_slides_are_self_contained(chapters):
    chapter = next(c for c in chapters if c.choosing and c.misconceptions)
    png = "iVBORw0KGgo="
    run = instructor.LabRun(chapter.labs[0], True, notebook={"cells": [{
        "cell_type": "code", "metadata": {"mystnb": {"image": {"alt": "A test figure"}}},
        "outputs": [{"output_type": "display_data", "data": {"image/png": png}}]}]})
    deck = instructor.slide_deck(chapter, [run], "Book")
    assert deck.count('<section class="slide">') >= 3 + len(chapter.misconceptions)
    assert "<table>" in deck and f"data:image/png;base64,{png}" in deck
    assert 'alt="A test figure"' in deck
    # nothing is loaded from elsewhere: no external scripts, styles, images or fonts
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', deck)
    assert "@import" not in deck and "url(http" not in deck
    for m in chapter.misconceptions:
        assert m.title.split('"')[1][:20] in deck
