"""Retrieval-augmented generation, written out so a lab can run every step on this machine.

Used by the lab of chapter 17 (``17-bedrock-rag``). Four groups of helpers:

* **Corpus and chunking** — :func:`load_corpus` and :func:`load_questions` read the course's
  fictional *Halyard Freight ML platform handbook* (``data/halyard-ml-handbook/``);
  :func:`chunk_document` / :func:`chunk_corpus` split documents into chunks of whole
  sentences with an overlap, the way a Knowledge Base's fixed-size chunking does (words
  here, tokens there).
* **Embeddings and a vector index** — :class:`LsaEmbedder` (TF-IDF followed by truncated
  SVD, "latent semantic analysis", from scikit-learn) is the open-source stand-in for a
  Bedrock embedding model such as Titan Text Embeddings V2; :class:`VectorIndex` is an exact
  cosine-similarity index, the stand-in for OpenSearch Serverless or Aurora pgvector.
* **Evaluation** — :func:`ranked_documents`, :func:`recall_at_k`, :func:`reciprocal_rank`
  and :func:`evaluate_retrieval` (recall@k and MRR at document level), and
  :func:`choose_threshold` for a refusal threshold on the best retrieval score.
* **Generation** — :func:`extractive_answer`, a clearly labelled *extractive* stand-in for a
  foundation model (it copies the best-matching sentences and cites them, and refuses when
  retrieval is weak), and the request builders for the ``aws`` backend:
  :func:`converse_request` (``bedrock-runtime`` ``Converse``, sent by
  :func:`converse_text`),
  :func:`retrieve_and_generate_request` (``bedrock-agent-runtime``),
  :func:`chunking_configuration` (``bedrock-agent`` ``CreateDataSource``), all checked
  offline by :func:`validate_request` against botocore's service model.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabKitError
from labkit.paths import DATA_DIR
from labkit.requests import validate_request

__all__ = ["validate_request"]  # re-exported: labs call rag.validate_request

CORPUS_DIR: Path = DATA_DIR / "halyard-ml-handbook"
"""The course's handbook corpus (see ``data/halyard-ml-handbook/README.md``)."""

DEFAULT_MODEL_ID = "amazon.nova-lite-v1:0"
"""Bedrock model the ``aws`` backend calls unless ``COURSE_BEDROCK_MODEL_ID`` is set."""

CANNOT_ANSWER = "I cannot answer that from the handbook."
"""What the assistant says when the retrieved context does not contain the answer."""

SYSTEM_PROMPT = (
    "You are the Halyard Freight ML platform assistant. Answer the employee's question "
    "using only the numbered handbook passages in the user message. After every sentence, "
    "cite the passage ids you used in square brackets, for example [03-gpu-quota#1]. "
    "If the passages do not contain the answer, reply exactly: " + CANNOT_ANSWER
)
"""The system prompt sent with every Converse request built by :func:`converse_request`."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_WORD = re.compile(r"\S+")


# ---------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Document:
    """One handbook page: its id (the file name without ``.md``), title and body."""

    doc_id: str
    title: str
    body: str

    @property
    def text(self) -> str:
        """Title and body, as a Knowledge Base would ingest the file."""
        return f"{self.title}. {self.body}"


@dataclass(frozen=True)
class Question:
    """An evaluation question and the ids of the documents that answer it (may be none)."""

    qid: str
    text: str
    relevant: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        """True when at least one document in the corpus answers the question."""
        return bool(self.relevant)


def load_corpus(folder: Path = CORPUS_DIR) -> list[Document]:
    """Read every ``docs/*.md`` file of ``folder``: a ``# Title`` line, then the body."""
    docs_dir = Path(folder) / "docs"
    files = sorted(docs_dir.glob("*.md"))
    if not files:
        raise LabKitError(
            f"No documents found in {docs_dir}.",
            "restore the corpus with 'git checkout -- data/halyard-ml-handbook', or pass "
            "the folder that holds your docs/*.md files.",
        )
    documents = []
    for path in files:
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        if not lines or not lines[0].startswith("# "):
            raise LabKitError(
                f"{path.name} does not start with a '# Title' line.",
                "give every document a first line '# Its title', then the text.",
            )
        body = " ".join(line.strip() for line in lines[1:] if line.strip())
        documents.append(Document(path.stem, lines[0][2:].strip(), body))
    return documents


def load_questions(path: Path = CORPUS_DIR / "questions.csv") -> list[Question]:
    """Read the evaluation questions: ``qid,question,relevant_docs`` (ids joined by ``;``)."""
    if not Path(path).is_file():
        raise LabKitError(
            f"The question file {path} does not exist.",
            "restore it with 'git checkout -- data/halyard-ml-handbook/questions.csv'.",
        )
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Question(
            row["qid"],
            row["question"],
            tuple(d for d in (row["relevant_docs"] or "").split(";") if d),
        )
        for row in rows
    ]


# ---------------------------------------------------------------------------------- chunking
@dataclass(frozen=True)
class Chunk:
    """A piece of one document: the unit that is embedded, indexed and retrieved."""

    chunk_id: str
    doc_id: str
    text: str

    @property
    def n_words(self) -> int:
        """Length in words (whitespace-separated)."""
        return len(_WORD.findall(self.text))


def split_sentences(text: str) -> list[str]:
    """Split text at ``.``, ``!`` or ``?`` followed by a space and a capital or a digit."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def chunk_document(doc: Document, max_words: int, overlap_words: int = 0) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_words`` words.

    Like a Knowledge Base's fixed-size chunking (``maxTokens`` and ``overlapPercentage``) but
    counted in words, and it keeps sentences whole (as Bedrock's default chunking does). The
    last sentences of a chunk, up to ``overlap_words`` words, are repeated at the start of
    the next one, so a fact that straddles a boundary is still found in one piece. A single
    sentence longer than ``max_words`` is cut into word windows.
    """
    if max_words < 1:
        raise LabKitError(
            f"chunk_document: max_words must be at least 1, got {max_words}.",
            "pass a positive chunk size, e.g. max_words=60.",
        )
    if not 0 <= overlap_words < max_words:
        raise LabKitError(
            f"chunk_document: overlap_words={overlap_words} must be between 0 and "
            f"max_words - 1 = {max_words - 1}.",
            "use a smaller overlap, e.g. a fifth of the chunk size.",
        )
    pieces: list[list[str]] = []
    for sentence in split_sentences(doc.text):
        words = _WORD.findall(sentence)
        for start in range(0, len(words), max_words):
            pieces.append(words[start : start + max_words])

    chunks: list[list[list[str]]] = []
    current: list[list[str]] = []
    for piece in pieces:
        if current and sum(map(len, current)) + len(piece) > max_words:
            chunks.append(current)
            carry: list[list[str]] = []
            for previous in reversed(current):
                if sum(map(len, carry)) + len(previous) > overlap_words:
                    break
                carry.insert(0, previous)
            # Never carry so much that the new piece would not fit.
            while carry and sum(map(len, carry)) + len(piece) > max_words:
                carry.pop(0)
            current = carry
        current.append(piece)
    if current:
        chunks.append(current)
    return [
        Chunk(f"{doc.doc_id}#{n}", doc.doc_id, " ".join(" ".join(p) for p in chunk))
        for n, chunk in enumerate(chunks)
    ]


def chunk_corpus(
    docs: Iterable[Document], max_words: int, overlap_words: int = 0
) -> list[Chunk]:
    """:func:`chunk_document` for every document, in order."""
    return [c for d in docs for c in chunk_document(d, max_words, overlap_words)]


# ---------------------------------------------------------------------------------- embeddings
class LsaEmbedder:
    """Text → unit-length vectors with TF-IDF and truncated SVD (latent semantic analysis).

    The open-source stand-in for a Bedrock embedding model. A real embedding model is
    trained once on a huge corpus and then applied to your text unchanged; this one is fit
    on a small text collection (:meth:`fit`) and then applied the same way
    (:meth:`embed`). Vectors are L2-normalised, so a dot product is a cosine similarity.
    """

    def __init__(self, dimensions: int = 128, random_state: int = 0) -> None:
        self.dimensions = dimensions
        self.random_state = random_state
        self._vectorizer: Any = None
        self._svd: Any = None

    @property
    def is_fitted(self) -> bool:
        """True after :meth:`fit`."""
        return self._svd is not None

    def fit(self, texts: Sequence[str]) -> LsaEmbedder:
        """Learn the vocabulary, IDF weights and the SVD basis from ``texts``."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        matrix = vectorizer.fit_transform(texts)
        limit = min(matrix.shape) - 1
        if self.dimensions > limit:
            raise LabKitError(
                f"LsaEmbedder: {self.dimensions} dimensions need more text; {len(texts)} "
                f"texts with {matrix.shape[1]} terms allow at most {limit}.",
                f"pass dimensions={limit} or fewer, or fit on more (shorter) texts.",
            )
        svd = TruncatedSVD(n_components=self.dimensions, random_state=self.random_state)
        svd.fit(matrix)
        self._vectorizer, self._svd = vectorizer, svd
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (an all-zero row for text with no known word)."""
        if not self.is_fitted:
            raise LabKitError(
                "LsaEmbedder.embed was called before fit.",
                "call embedder.fit(texts) first (once, on the corpus).",
            )
        vectors = self._svd.transform(self._vectorizer.transform(list(texts)))
        return _unit_rows(np.asarray(vectors, dtype=np.float64))


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


# ---------------------------------------------------------------------------------- index
@dataclass(frozen=True)
class Hit:
    """One search result: a chunk and its cosine similarity to the query."""

    chunk: Chunk
    score: float


class VectorIndex:
    """An exact cosine-similarity index over chunk vectors (brute force, in memory).

    Managed vector stores (OpenSearch Serverless, Aurora pgvector, …) use approximate
    nearest-neighbour structures such as HNSW to stay fast over millions of vectors; for a
    few hundred chunks the exact answer is cheap and is what they approximate.
    """

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._chunks: list[Chunk] = []
        self._matrix = np.zeros((0, dimensions))

    def __len__(self) -> int:
        return len(self._chunks)

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store ``chunks`` with their vectors (one row each); rows are re-normalised."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        if vectors.shape != (len(chunks), self.dimensions):
            raise LabKitError(
                f"VectorIndex.add: got vectors of shape {vectors.shape} for {len(chunks)} "
                f"chunks; expected ({len(chunks)}, {self.dimensions}).",
                "embed the chunks with the same embedder the index was made for, one row "
                "per chunk.",
            )
        known = {c.chunk_id for c in self._chunks}
        duplicates = sorted({c.chunk_id for c in chunks} & known)
        if duplicates or len({c.chunk_id for c in chunks}) != len(chunks):
            raise LabKitError(
                f"VectorIndex.add: duplicate chunk ids {duplicates or '(within the batch)'}.",
                "give every chunk a unique id (chunk_document numbers them per document).",
            )
        self._chunks.extend(chunks)
        self._matrix = np.vstack([self._matrix, _unit_rows(vectors)])

    def search(self, query_vector: np.ndarray, k: int = 5) -> list[Hit]:
        """The ``k`` chunks most similar to ``query_vector``, best first (ties: oldest)."""
        if len(self) == 0:
            raise LabKitError(
                "VectorIndex.search: the index is empty.",
                "add chunks with index.add(chunks, vectors) first.",
            )
        if k < 1:
            raise LabKitError(
                f"VectorIndex.search: k must be at least 1, got {k}.",
                "ask for one or more results, e.g. k=5.",
            )
        query = np.asarray(query_vector, dtype=np.float64).reshape(-1)
        if query.shape != (self.dimensions,):
            raise LabKitError(
                f"VectorIndex.search: the query has {query.size} dimensions, the index "
                f"{self.dimensions}.",
                "embed the query with the same embedder as the chunks.",
            )
        scores = self._matrix @ _unit_rows(query[None, :])[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(self._chunks[i], float(scores[i])) for i in order]


# ---------------------------------------------------------------------------------- evaluation
def ranked_documents(hits: Iterable[Hit]) -> list[str]:
    """Document ids in the order their best chunk appears in ``hits`` (no repeats)."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.chunk.doc_id, None)
    return list(seen)


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant documents found among the first ``k`` ranked documents."""
    relevant = set(relevant)
    if not relevant:
        raise LabKitError(
            "recall_at_k: the question has no relevant documents, so recall is undefined.",
            "evaluate retrieval on answerable questions only.",
        )
    return len(relevant & set(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str]) -> float:
    """1 / (rank of the first relevant document), or 0 when none is ranked."""
    relevant = set(relevant)
    for rank, doc_id in enumerate(ranked, start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def evaluate_retrieval(
    index: VectorIndex,
    embedder: LsaEmbedder,
    questions: Sequence[Question],
    ks: Sequence[int] = (1, 3, 5, 10),
) -> pd.DataFrame:
    """Per answerable question: recall@k for each ``k``, reciprocal rank and top score.

    The whole index is ranked for each question and reduced to documents with
    :func:`ranked_documents`, so recall@k counts *documents*, whatever the chunk size.
    ``frame.mean(numeric_only=True)`` gives recall@k averaged over questions and the MRR.
    """
    rows = []
    answerable = [q for q in questions if q.answerable]
    vectors = embedder.embed([q.text for q in answerable])
    for question, vector in zip(answerable, vectors, strict=True):
        hits = index.search(vector, k=len(index))
        ranked = ranked_documents(hits)
        row: dict[str, Any] = {"qid": question.qid}
        for k in ks:
            row[f"recall@{k}"] = recall_at_k(ranked, question.relevant, k)
        row["reciprocal_rank"] = reciprocal_rank(ranked, question.relevant)
        row["top_score"] = hits[0].score
        rows.append(row)
    return pd.DataFrame(rows).set_index("qid")


@dataclass(frozen=True)
class Threshold:
    """A refusal threshold and how it does on questions with and without an answer."""

    value: float
    answer_rate: float
    refusal_rate: float

    @property
    def balanced_accuracy(self) -> float:
        """Mean of the answer rate (answerable) and the refusal rate (unanswerable)."""
        return (self.answer_rate + self.refusal_rate) / 2


def choose_threshold(
    answerable_scores: Sequence[float], unanswerable_scores: Sequence[float]
) -> Threshold:
    """The score threshold that best separates answerable from unanswerable questions.

    Candidates are the midpoints between neighbouring observed scores (so the chosen value
    never sits exactly on a question's score); the winner has the highest balanced
    accuracy, the lowest such value on a tie. A question is *answered* when its top
    retrieval score is at least the threshold.
    """
    answerable = np.asarray(answerable_scores, dtype=np.float64)
    unanswerable = np.asarray(unanswerable_scores, dtype=np.float64)
    if answerable.size == 0 or unanswerable.size == 0:
        raise LabKitError(
            "choose_threshold needs scores of answerable and of unanswerable questions.",
            "include questions the corpus cannot answer in the evaluation set.",
        )
    values = np.unique(np.concatenate([answerable, unanswerable]))
    candidates = np.concatenate([[values[0] - 1e-3], (values[:-1] + values[1:]) / 2])
    best: Threshold | None = None
    for value in candidates:
        option = Threshold(
            float(value),
            float((answerable >= value).mean()),
            float((unanswerable < value).mean()),
        )
        if best is None or option.balanced_accuracy > best.balanced_accuracy:
            best = option
    assert best is not None
    return best


# ---------------------------------------------------------------------------------- answers
@dataclass(frozen=True)
class Answer:
    """What the extractive stand-in returns: text, cited chunk ids and the evidence score."""

    text: str
    citations: tuple[str, ...]
    answered: bool
    top_score: float


def extractive_answer(
    question: str,
    hits: Sequence[Hit],
    embedder: LsaEmbedder,
    threshold: float,
    max_sentences: int = 1,
) -> Answer:
    """Answer by copying the retrieved sentences most similar to the question, with citations.

    **Not a language model.** It cannot rephrase, combine or reason; it selects. It refuses
    (``answered=False``, text :data:`CANNOT_ANSWER`) when no hit scores at least
    ``threshold`` — the local version of "say so when the context does not contain the
    answer", which the system prompt asks of a real model.
    """
    top = max((h.score for h in hits), default=0.0)
    if not hits or top < threshold:
        return Answer(
            f"{CANNOT_ANSWER} (best retrieval score {top:.2f} < threshold {threshold:.2f})",
            (),
            False,
            top,
        )
    candidates = [
        (hit.chunk.chunk_id, sentence)
        for hit in hits
        if hit.score >= threshold
        for sentence in split_sentences(hit.chunk.text)
    ]
    scores = embedder.embed([question])[0] @ embedder.embed(
        [s for _, s in candidates]
    ).T
    order = np.argsort(-scores, kind="stable")
    chosen: list[tuple[str, str]] = []
    for i in order:
        if candidates[i][1] not in {s for _, s in chosen}:
            chosen.append(candidates[i])
        if len(chosen) == max_sentences:
            break
    text = " ".join(f"{sentence} [{chunk_id}]" for chunk_id, sentence in chosen)
    return Answer(text, tuple(dict.fromkeys(c for c, _ in chosen)), True, top)


# ---------------------------------------------------------------------------------- requests
def context_block(hits: Sequence[Hit]) -> str:
    """The retrieved passages as the prompt shows them: one ``[chunk id]`` line each."""
    return "\n".join(f"[{h.chunk.chunk_id}] {h.chunk.text}" for h in hits)


def converse_request(
    model_id: str,
    question: str,
    hits: Sequence[Hit],
    *,
    max_tokens: int = 300,
    temperature: float = 0.0,
    guardrail: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The ``bedrock-runtime`` ``Converse`` parameters for a RAG answer.

    The system prompt (:data:`SYSTEM_PROMPT`) sets the rules — answer only from the
    passages, cite them, refuse otherwise; the user message carries the retrieved passages
    with their ids and then the question. ``temperature=0`` makes the answer as repeatable
    as the model allows. ``guardrail`` is ``(guardrail id, version)`` to apply a Bedrock
    guardrail. Send it with ``client.converse(**request)``.
    """
    user_text = (
        "Handbook passages:\n"
        f"{context_block(hits)}\n\n"
        f"Question: {question}"
    )
    request: dict[str, Any] = {
        "modelId": model_id,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": user_text}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
    if guardrail is not None:
        request["guardrailConfig"] = {
            "guardrailIdentifier": guardrail[0],
            "guardrailVersion": guardrail[1],
        }
    return request


def converse_text(client: Any, request: dict[str, Any]) -> str:
    """Validate ``request``, send it with ``client.converse`` and return the reply's text.

    ``client`` is a ``bedrock-runtime`` client (``lab.client("bedrock-runtime")`` on the
    ``aws`` backend). The errors a first run usually meets — no access to the model, a model
    id that needs an inference profile in this region — become a
    :class:`~labkit.errors.LabKitError` that says what to do.
    """
    from botocore.exceptions import ClientError

    validate_request("bedrock-runtime", "Converse", request)
    try:
        response = client.converse(**request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        model = request["modelId"]
        if code == "AccessDeniedException":
            fix = (
                f"grant bedrock:InvokeModel on {model} to your role and make sure the "
                "account has access to the model (Bedrock console, Model access)."
            )
        elif code == "ValidationException" and "inference profile" in message:
            fix = (
                "use the model's cross-region inference profile id, e.g. "
                f"COURSE_BEDROCK_MODEL_ID=us.{model}."
            )
        else:
            fix = "read the message above; check the region and COURSE_BEDROCK_MODEL_ID."
        raise LabKitError(f"Bedrock Converse failed: {code}: {message}", fix) from exc
    texts = [b["text"] for b in response["output"]["message"]["content"] if "text" in b]
    return "\n".join(texts)


def foundation_model_arn(model_id: str, region: str) -> str:
    """The ARN form of a foundation-model id (Knowledge Bases ask for an ARN)."""
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def retrieve_and_generate_request(
    knowledge_base_id: str,
    model_arn: str,
    question: str,
    *,
    number_of_results: int = 5,
    max_tokens: int = 300,
    temperature: float = 0.0,
) -> dict[str, Any]:
    """The ``bedrock-agent-runtime`` ``RetrieveAndGenerate`` parameters for a Knowledge Base.

    One call does what the lab does step by step: embed the question, search the
    Knowledge Base's vector store for ``number_of_results`` chunks, build the prompt
    (``$search_results$`` is where the service puts them) and call ``model_arn``.
    """
    template = (
        "Answer the question using only these search results. If they do not contain "
        f"the answer, reply exactly: {CANNOT_ANSWER}\n$search_results$"
    )
    return {
        "input": {"text": question},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {
                "knowledgeBaseId": knowledge_base_id,
                "modelArn": model_arn,
                "retrievalConfiguration": {
                    "vectorSearchConfiguration": {"numberOfResults": number_of_results}
                },
                "generationConfiguration": {
                    "promptTemplate": {"textPromptTemplate": template},
                    "inferenceConfig": {
                        "textInferenceConfig": {
                            "maxTokens": max_tokens,
                            "temperature": temperature,
                        }
                    },
                },
            },
        },
    }


def chunking_configuration(max_tokens: int, overlap_percentage: int) -> dict[str, Any]:
    """A Knowledge Base data source's ``vectorIngestionConfiguration`` for fixed-size chunks."""
    return {
        "chunkingConfiguration": {
            "chunkingStrategy": "FIXED_SIZE",
            "fixedSizeChunkingConfiguration": {
                "maxTokens": max_tokens,
                "overlapPercentage": overlap_percentage,
            },
        }
    }

