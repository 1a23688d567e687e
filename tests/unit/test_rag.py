"""labkit.rag: chunking, the cosine index, retrieval metrics, the stand-in answerer and
the Bedrock request builders (checked against botocore's service models, offline)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from labkit import rag
from labkit.errors import LabKitError


def doc(body: str, doc_id: str = "d1", title: str = "Title") -> rag.Document:
    return rag.Document(doc_id, title, body)


# ---------------------------------------------------------------------------- corpus
def test_corpus_and_questions_load_and_agree():
    docs = rag.load_corpus()
    questions = rag.load_questions()
    ids = {d.doc_id for d in docs}
    assert 20 <= len(docs) <= 40
    assert len({q.qid for q in questions}) == len(questions)
    for q in questions:
        assert set(q.relevant) <= ids, q
    assert sum(q.answerable for q in questions) >= 20
    assert sum(not q.answerable for q in questions) >= 3


def test_load_corpus_explains_a_missing_folder(tmp_path):
    with pytest.raises(LabKitError, match="No documents"):
        rag.load_corpus(tmp_path)


# ---------------------------------------------------------------------------- chunking
def test_split_sentences():
    assert rag.split_sentences("One. Two is 2! Three? 4 ends. e.g. x") == [
        "One.", "Two is 2!", "Three?", "4 ends. e.g. x",
    ]


def test_chunks_keep_sentences_whole_and_respect_the_size():
    body = " ".join(f"Sentence {i} has exactly six words." for i in range(10))
    chunks = rag.chunk_document(doc(body), max_words=13)
    assert [c.chunk_id for c in chunks][:2] == ["d1#0", "d1#1"]
    assert all(c.n_words <= 13 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    # Without overlap, the chunks put back together are the document.
    assert " ".join(c.text for c in chunks) == doc(body).text


def test_overlap_repeats_the_last_sentence():
    body = " ".join(f"Sentence {i} has exactly six words." for i in range(6))
    chunks = rag.chunk_document(doc(body), max_words=12, overlap_words=6)
    for first, second in itertools.pairwise(chunks):
        last = rag.split_sentences(first.text)[-1]
        assert second.text.startswith(last)
    assert all(c.n_words <= 12 for c in chunks)


def test_a_long_sentence_is_cut_into_windows():
    chunks = rag.chunk_document(doc(" ".join(["word"] * 25) + "."), max_words=10)
    # "Title. word word …" is one sentence (no capital after the full stop): 26 words.
    assert [c.n_words for c in chunks] == [10, 10, 6]


@pytest.mark.parametrize("size, overlap", [(0, 0), (10, 10), (10, -1)])
def test_bad_chunk_sizes_are_refused(size, overlap):
    with pytest.raises(LabKitError):
        rag.chunk_document(doc("A b c."), max_words=size, overlap_words=overlap)


# ---------------------------------------------------------------------------- index
def test_index_scores_are_cosine_similarities_and_sorted():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 8))
    query = rng.normal(size=8)
    chunks = [rag.Chunk(f"c{i}", f"d{i % 7}", "x") for i in range(30)]
    index = rag.VectorIndex(8)
    index.add(chunks, vectors)
    hits = index.search(query, k=5)
    expected = cosine_similarity(query[None, :], vectors)[0]
    assert [h.chunk.chunk_id for h in hits] == [f"c{i}" for i in np.argsort(-expected)[:5]]
    assert np.allclose([h.score for h in hits], np.sort(expected)[::-1][:5])
    assert index.search(vectors[11], k=1)[0].chunk.chunk_id == "c11"


def test_index_refuses_wrong_shapes_duplicates_and_bad_k():
    index = rag.VectorIndex(3)
    with pytest.raises(LabKitError, match="empty"):
        index.search(np.ones(3))
    index.add([rag.Chunk("a", "d", "x")], np.ones((1, 3)))
    with pytest.raises(LabKitError, match="shape"):
        index.add([rag.Chunk("b", "d", "x")], np.ones((1, 4)))
    with pytest.raises(LabKitError, match="duplicate"):
        index.add([rag.Chunk("a", "d", "x")], np.ones((1, 3)))
    with pytest.raises(LabKitError, match="dimensions"):
        index.search(np.ones(4))
    with pytest.raises(LabKitError, match="k must"):
        index.search(np.ones(3), k=0)
    assert index.search(np.zeros(3))[0].score == 0.0  # a query with no known words


def test_embedder_gives_unit_vectors_and_zero_for_unknown_words():
    texts = [f"alpha beta gamma {w}" for w in ("delta", "epsilon", "zeta", "eta", "theta")]
    embedder = rag.LsaEmbedder(dimensions=3).fit(texts)
    vectors = embedder.embed(texts + ["qwerty"])
    assert vectors.shape == (6, 3)
    assert np.allclose(np.linalg.norm(vectors[:5], axis=1), 1.0)
    assert np.allclose(vectors[5], 0.0)
    with pytest.raises(LabKitError, match="dimensions"):
        rag.LsaEmbedder(dimensions=50).fit(texts)
    with pytest.raises(LabKitError, match="before fit"):
        rag.LsaEmbedder().embed(["x"])


# ---------------------------------------------------------------------------- metrics
def test_ranked_documents_keep_the_best_chunk_of_each_document():
    hits = [rag.Hit(rag.Chunk(f"{d}#{i}", d, ""), 1.0) for d, i in
            [("a", 0), ("b", 0), ("a", 1), ("c", 0)]]
    assert rag.ranked_documents(hits) == ["a", "b", "c"]


def test_recall_and_reciprocal_rank_by_hand():
    ranked = ["x", "a", "y", "b"]
    assert rag.recall_at_k(ranked, ["a", "b"], 1) == 0.0
    assert rag.recall_at_k(ranked, ["a", "b"], 2) == 0.5
    assert rag.recall_at_k(ranked, ["a", "b"], 4) == 1.0
    assert rag.reciprocal_rank(ranked, ["b", "a"]) == 0.5
    assert rag.reciprocal_rank(ranked, ["z"]) == 0.0
    with pytest.raises(LabKitError):
        rag.recall_at_k(ranked, [], 3)


def test_evaluation_on_the_handbook_beats_chance_by_far():
    docs = rag.load_corpus()
    embedder = rag.LsaEmbedder(64).fit(
        [s for d in docs for s in rag.split_sentences(d.text)]
    )
    chunks = rag.chunk_corpus(docs, max_words=60, overlap_words=10)
    index = rag.VectorIndex(64)
    index.add(chunks, embedder.embed([c.text for c in chunks]))
    report = rag.evaluate_retrieval(index, embedder, rag.load_questions(), ks=(1, 5))
    # Chance for recall@5 with one relevant page among 28 is about 0.18.
    assert report["recall@5"].mean() > 0.8
    assert report["reciprocal_rank"].mean() > 0.6
    assert len(report) == sum(q.answerable for q in rag.load_questions())


def test_choose_threshold_separates_and_sits_between_scores():
    best = rag.choose_threshold([0.5, 0.6, 0.7], [0.2, 0.3, 0.55])
    assert best.value == pytest.approx(0.4)  # between 0.3 and 0.5: 3/3 answered, 2/3 refused
    assert (best.answer_rate, best.refusal_rate) == (1.0, pytest.approx(2 / 3))
    perfect = rag.choose_threshold([0.8, 0.9], [0.1, 0.2])
    assert perfect.value == pytest.approx(0.5) and perfect.balanced_accuracy == 1.0
    with pytest.raises(LabKitError):
        rag.choose_threshold([0.5], [])


# ---------------------------------------------------------------------------- answers
def _tiny():
    docs = [
        doc("The canary receives ten percent of traffic. Releases take one hour.", "rel"),
        doc("Keys rotate every year. Only the platform team edits key policies.", "kms"),
    ]
    chunks = rag.chunk_corpus(docs, max_words=40)
    embedder = rag.LsaEmbedder(3).fit([s for d in docs for s in rag.split_sentences(d.text)])
    index = rag.VectorIndex(3)
    index.add(chunks, embedder.embed([c.text for c in chunks]))
    return embedder, index


def test_extractive_answer_cites_the_sentence_it_copies():
    embedder, index = _tiny()
    question = "How often do keys rotate?"
    hits = index.search(embedder.embed([question])[0], k=2)
    answer = rag.extractive_answer(question, hits, embedder, threshold=0.1)
    assert answer.answered and answer.citations == ("kms#0",)
    assert answer.text == "Keys rotate every year. [kms#0]"


def test_extractive_answer_refuses_below_the_threshold():
    embedder, index = _tiny()
    question = "What is the office wifi password?"  # no known word: score 0
    hits = index.search(embedder.embed([question])[0], k=2)
    answer = rag.extractive_answer(question, hits, embedder, threshold=0.1)
    assert not answer.answered and answer.citations == ()
    assert answer.text.startswith(rag.CANNOT_ANSWER)
    assert not rag.extractive_answer("x", [], embedder, threshold=0.1).answered


# ---------------------------------------------------------------------------- requests
def test_converse_request_is_valid_and_carries_the_context():
    embedder, index = _tiny()
    hits = index.search(embedder.embed(["keys"])[0], k=2)
    request = rag.converse_request(
        rag.DEFAULT_MODEL_ID, "How often do keys rotate?", hits, guardrail=("abc123", "1")
    )
    rag.validate_request("bedrock-runtime", "Converse", request)
    text = request["messages"][0]["content"][0]["text"]
    assert "[kms#0] Title. Keys rotate every year." in text
    assert text.endswith("Question: How often do keys rotate?")
    assert request["system"][0]["text"] == rag.SYSTEM_PROMPT


def test_validate_request_catches_what_botocore_and_the_service_would_refuse():
    good = rag.converse_request(rag.DEFAULT_MODEL_ID, "q", [])
    missing = {k: v for k, v in good.items() if k != "modelId"}
    with pytest.raises(LabKitError, match="modelId"):
        rag.validate_request("bedrock-runtime", "Converse", missing)
    with pytest.raises(LabKitError, match="maxTokens"):
        rag.validate_request(
            "bedrock-runtime", "Converse", {**good, "inferenceConfig": {"maxTokens": "9"}}
        )
    with pytest.raises(LabKitError, match="temperature: 1.5 is above"):
        rag.validate_request(
            "bedrock-runtime", "Converse", {**good, "inferenceConfig": {"temperature": 1.5}}
        )
    bad_role = {**good, "messages": [{"role": "robot", "content": [{"text": "hi"}]}]}
    with pytest.raises(LabKitError, match="robot"):
        rag.validate_request("bedrock-runtime", "Converse", bad_role)
    with pytest.raises(LabKitError, match="no model"):
        rag.validate_request("bedrock-runtime", "NoSuchOperation", good)


def test_knowledge_base_requests_are_valid():
    arn = rag.foundation_model_arn(rag.DEFAULT_MODEL_ID, "us-east-1")
    assert arn == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    request = rag.retrieve_and_generate_request("ABCDEFGHIJ", arn, "q", number_of_results=8)
    rag.validate_request("bedrock-agent-runtime", "RetrieveAndGenerate", request)
    too_many = rag.retrieve_and_generate_request("ABCDEFGHIJ", arn, "q", number_of_results=101)
    with pytest.raises(LabKitError, match="numberOfResults: 101 is above the maximum 100"):
        rag.validate_request("bedrock-agent-runtime", "RetrieveAndGenerate", too_many)
    source = {
        "knowledgeBaseId": "ABCDEFGHIJ",
        "name": "handbook",
        "dataSourceConfiguration": {
            "type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::b"},
        },
        "vectorIngestionConfiguration": rag.chunking_configuration(300, 20),
    }
    rag.validate_request("bedrock-agent", "CreateDataSource", source)
    source["vectorIngestionConfiguration"] = rag.chunking_configuration(300, 0)
    with pytest.raises(LabKitError, match="overlapPercentage"):
        rag.validate_request("bedrock-agent", "CreateDataSource", source)


def test_converse_text_reads_the_reply_and_explains_access_errors():
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )
    request = rag.converse_request(rag.DEFAULT_MODEL_ID, "q", [])
    reply = {
        "output": {"message": {"role": "assistant", "content": [{"text": "90 days."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 10, "outputTokens": 3, "totalTokens": 13},
        "metrics": {"latencyMs": 100},
    }
    with Stubber(client) as stub:
        stub.add_response("converse", reply, request)
        assert rag.converse_text(client, request) == "90 days."
        stub.add_client_error("converse", "AccessDeniedException", "no access")
        with pytest.raises(LabKitError, match="Model access"):
            rag.converse_text(client, request)
        stub.add_client_error(
            "converse", "ValidationException",
            "Invocation with on-demand throughput isn't supported. Retry with an "
            "inference profile.",
        )
        with pytest.raises(LabKitError, match="us.amazon.nova-lite"):
            rag.converse_text(client, request)
