"""Lab 17's #@save cells (chunking, ranking, metrics, threshold) and labkit.standins.rag.

Expected values are worked out by hand in the comments, not with the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit import lessons
from labkit.standins import rag as standin


@pytest.fixture(scope="module")
def lesson():
    return lessons.load("17-bedrock-rag")


def words(text: str) -> int:
    return len(text.split())


def test_chunk_packs_whole_sentences_with_overlap(lesson):
    text = "A a a. B b b. C c c. D d d."  # four sentences of 3 "tokens"
    # max 6: [A B] [C D]; with 50 % overlap (3 tokens) each chunk repeats the last sentence
    assert lesson.chunk(text, 6, 0.0, words) == ["A a a. B b b.", "C c c. D d d."]
    assert lesson.chunk(text, 6, 0.5, words) == [
        "A a a. B b b.", "B b b. C c c.", "C c c. D d d."]
    # an overlap smaller than one sentence carries nothing
    assert lesson.chunk(text, 6, 0.4, words) == ["A a a. B b b.", "C c c. D d d."]
    # a paragraph break is a boundary even without a full stop
    assert lesson.chunk("one two\n\nthree four", 2, 0.0, words) == ["one two", "three four"]


def test_fuse_is_reciprocal_rank_fusion(lesson):
    # chunk 0: 1/61 + 1/62 = .032522; chunk 2: 1/63 + 1/61 = .032266; chunk 1: .032002
    assert list(lesson.fuse([0, 1, 2], [2, 0, 1])) == [0, 2, 1]
    # with k = 0: chunk 1 scores 1/1 + 1/3, chunk 0 1/2 + 1/2, chunk 2 1/3 + 1/1 (tie: index)
    assert list(lesson.fuse([1, 0, 2], [2, 0, 1], k=0)) == [1, 2, 0]
    # where k matters: with k = 60 chunk 0 scores 2/61 + 1/63 = .048660, chunk 1 3/62 =
    # .048387, chunk 2 2/63 + 1/61 = .048141; with k = 0: 2.333, 1.5, 1.667
    assert list(lesson.fuse([0, 1, 2], [0, 1, 2], [2, 1, 0])) == [0, 1, 2]
    assert list(lesson.fuse([0, 1, 2], [0, 1, 2], [2, 1, 0], k=0)) == [0, 2, 1]


def test_chapter_ranking_and_metrics(lesson):
    ranked = lesson.chapters_in_order([3, 1, 0, 2], ["a", "a", "b", "c"])
    assert ranked == ["c", "a", "b"]
    assert lesson.recall_at_k(ranked, "b", 2) == 0.0
    assert lesson.recall_at_k(ranked, "b", 3) == 1.0
    assert lesson.reciprocal_rank(ranked, "b") == pytest.approx(1 / 3)
    assert lesson.reciprocal_rank(ranked, "c") == 1.0
    assert lesson.reciprocal_rank(ranked, "z") == 0.0


def test_choose_threshold_maximises_balanced_accuracy(lesson):
    # midpoints .25 .40 .65 .85 → balanced accuracy .75 .583 .833 .667: .65 wins
    assert lesson.choose_threshold(np.array([0.9, 0.8, 0.3]),
                                   np.array([0.2, 0.5])) == pytest.approx(0.65)
    # a tie (.25 and .70 both reach .75 here) goes to the lowest
    assert lesson.choose_threshold(np.array([0.9, 0.3]),
                                   np.array([0.2, 0.5])) == pytest.approx(0.25)


def test_questions_alternate_between_halves(lesson):
    questions = lesson.load_questions()
    unanswerable = [q for q in questions if not q["chapter"]]
    assert len(unanswerable) >= 15
    assert [q["half"] for q in unanswerable[:4]] == ["tune", "test", "tune", "test"]
    iam = [q["half"] for q in questions if q["chapter"] == "01-iam-cross-account"]
    assert iam[:3] == ["tune", "test", "tune"]
    chapters = lesson.load_chapters()
    assert all("## Practice questions" not in text for text in chapters.values())
    assert {q["chapter"] for q in questions} - {""} <= set(chapters)


class FakeModel:
    """Embeds a text as [has 'retention', has 'canary'], unit length (zero vector → e1)."""

    def embed(self, texts, norm=True):
        rows = np.array([[("retention" in t) + 0.0, ("canary" in t) + 0.0] for t in texts])
        rows[rows.sum(axis=1) == 0] = [1.0, 0.0]
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_extractive_answer_cites_the_closest_sentence():
    passages = [("02-x#0", "The canary takes ten percent of the traffic first."),
                ("03-y#4", "Raw logs have a retention of ninety days here.\nShort.")]
    reply = standin.extractive_answer("What is the retention of logs?", passages,
                                      FakeModel(), evidence=9.0, threshold=8.0)
    assert reply.answered and reply.citations == ("03-y#4",)
    assert reply.text == "Raw logs have a retention of ninety days here. [03-y#4]"


def test_extractive_answer_refuses_below_the_threshold():
    reply = standin.extractive_answer("Which Polly voice?", [("a#0", "Some text here ok.")],
                                      FakeModel(), evidence=7.9, threshold=8.0)
    assert not reply.answered and reply.citations == ()
    assert reply.text.startswith(standin.REFUSAL)


def test_embedding_model_loads_from_the_package_offline(monkeypatch):
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("wordllama tried to download something")

    monkeypatch.setattr(requests, "get", no_network)
    model = standin.load_embedding_model()
    vectors = model.embed(["SageMaker endpoint", "SageMaker endpoints", "a recipe for soup"],
                          norm=True)
    assert vectors.shape == (3, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
