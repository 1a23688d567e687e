"""Offline stand-ins for lab 17's Bedrock parts: an embedding model and an extractive answerer.

* :func:`load_embedding_model` stands in for a Bedrock embedding model (Titan Text
  Embeddings V2): WordLlama's ``l2_supercat`` static token embeddings (256 dimensions), whose
  weights and tokenizer ship inside the ``wordllama`` package (MIT licence), so nothing is
  downloaded.
* :func:`extractive_answer` stands in for the foundation model: it copies the retrieved
  sentence closest to the question and cites its chunk, and refuses when retrieval was weak.
  It is **not** a language model and the lab never presents it as one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REFUSAL = "The course does not cover this."
"""What the stand-in (and the prompt sent to Bedrock) says when it cannot answer."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`*(\[])")


def load_embedding_model() -> Any:
    """WordLlama (256 dimensions) from the files inside the installed package, offline.

    ``WordLlama.load()`` in wordllama 0.4.0.post1 looks for the tokenizer in a folder the
    wheel does not have and would then try to download it; pointing ``cache_dir`` at the
    package's own folder finds both files. Importing wordllama also calls
    ``logging.basicConfig(level=INFO)``; the root logger's level is put back.
    """
    from labkit.quiet import root_logging_kept

    with root_logging_kept():
        import wordllama
        from wordllama import WordLlama
    package = Path(wordllama.__file__).parent
    return WordLlama.load(config="l2_supercat", dim=256, cache_dir=package,
                          disable_download=True)


@dataclass(frozen=True)
class Answer:
    """The stand-in's reply: text, the chunk ids it cites, and whether it answered."""

    text: str
    citations: tuple[str, ...]
    answered: bool


def extractive_answer(
    question: str,
    passages: Sequence[tuple[str, str]],
    model: Any,
    evidence: float,
    threshold: float,
) -> Answer:
    """Copy the passage sentence (or table row) most like ``question``, citing its chunk.

    ``passages`` are ``(chunk id, text)`` pairs, best first. Refuses (``answered=False``)
    when ``evidence`` (the retrieval score the lab tuned a threshold for) is below
    ``threshold``.
    """
    if not passages or evidence < threshold:
        return Answer(f"{REFUSAL} (evidence {evidence:.2f} < threshold {threshold:.2f})",
                      (), False)
    candidates = [(cid, " ".join(s.split())) for cid, text in passages
                  for line in text.splitlines() for s in _SENTENCE.split(line)
                  if 5 <= len(s.split()) <= 60]
    if not candidates:
        return Answer(REFUSAL, (), False)
    vectors = model.embed([question] + [s for _, s in candidates], norm=True)
    best = int(np.argmax(vectors[1:] @ vectors[0]))
    cid, sentence = candidates[best]
    return Answer(f"{sentence} [{cid}]", (cid,), True)
