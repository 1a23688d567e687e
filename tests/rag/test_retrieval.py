"""Held-out check of lab 17: on the test half, retrieval and refusal reach what the lab says.

Uses the lab's own #@save cells (labkit.lessons) over the committed snapshot of the chapters,
so a change to the chunker, the ranking, the fusion, the questions or the snapshot that
lowers the numbers fails here, outside the notebook.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit import lessons
from labkit.standins.rag import load_embedding_model

KB_DEFAULT_TOKENS = 300


@pytest.fixture(scope="module")
def setup():
    lab = lessons.load("17-bedrock-rag")
    model = load_embedding_model()

    def count(text):
        return len(model.tokenizer.encode(text, add_special_tokens=False).ids)

    chunks = [(name, text) for name, doc in lab.load_chapters().items()
              for text in lab.chunk(doc, KB_DEFAULT_TOKENS, 0.2, count)]
    index = lab.build_index([t for _, t in chunks], model)
    return lab, model, chunks, index, lab.load_questions()


def test_hybrid_recall_at_3_on_held_out_questions(setup):
    lab, model, chunks, index, questions = setup
    owners = [name for name, _ in chunks]
    test = [q for q in questions if q["chapter"] and q["half"] == "test"]
    assert len(test) >= 50
    ranks, _, _ = lab.rank(index, model, [q["stem"] for q in test])
    recall = {retriever: np.mean([
        lab.recall_at_k(lab.chapters_in_order(order, owners), q["chapter"], 3)
        for q, order in zip(test, orders)]) for retriever, orders in ranks.items()}
    assert recall["hybrid"] >= 0.9, recall
    assert recall["hybrid"] == pytest.approx(0.936, abs=0.015), recall  # 73 of 78
    assert recall["semantic"] < recall["BM25"], recall


def test_refusal_threshold_tuned_on_one_half_holds_on_the_other(setup):
    lab, model, _, index, questions = setup
    _, best_bm25, _ = lab.rank(index, model, [q["stem"] for q in questions])
    answerable = np.array([bool(q["chapter"]) for q in questions])
    tune = np.array([q["half"] == "tune" for q in questions])
    threshold = lab.choose_threshold(best_bm25[tune & answerable],
                                     best_bm25[tune & ~answerable])
    refused = np.mean(best_bm25[~tune & ~answerable] < threshold)
    answered = np.mean(best_bm25[~tune & answerable] >= threshold)
    assert (~tune & ~answerable).sum() >= 10
    assert refused == pytest.approx(0.9, abs=0.1)  # 9 of 10
    assert answered == pytest.approx(0.897, abs=0.03)  # 70 of 78
