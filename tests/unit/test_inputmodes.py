"""Lab 08's readers (its #@save cells): the same bytes three ways, request counts, the model."""

import io

import numpy as np
import pytest

import labkit
from labkit import lessons

io_modes = lessons.load("08-training-input-modes")
FEATURES, RECORD_BYTES = io_modes.FEATURES, io_modes.RECORD_BYTES


@pytest.fixture()
def channel(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_BACKEND", "local")
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        s3 = lab.client("s3")
        bucket = lab.bucket("data")
        for i in range(5):
            body = io_modes.make_shard(100, i)
            s3.put_object(Bucket=bucket, Key=f"ch/part-{i:05d}.bin", Body=body)
        yield lab, s3, bucket


def test_record_layout_is_sixteen_float32():
    assert RECORD_BYTES == 64  # 15 features + 1 label, 4 bytes each
    data = np.frombuffer(io_modes.make_shard(50, seed=3), dtype=np.float32).reshape(-1, 16)
    assert data.shape == (50, 16)
    assert np.array_equal(data[:, -1], (data[:, :-1].sum(axis=1) > 0).astype(np.float32))
    assert io_modes.make_shard(50, 3) == io_modes.make_shard(50, 3)
    assert io_modes.make_shard(50, 3) != io_modes.make_shard(50, 4)


def test_batches_from_stream_keeps_records_whole():
    raw = io_modes.make_shard(10, 0)
    got = list(io_modes.batches_from_stream(io.BytesIO(raw).read, batch_records=4))
    assert [len(b) for b in got] == [4, 4, 2]
    assert np.concatenate(got).tobytes() == raw
    with pytest.raises(ValueError):
        list(io_modes.batches_from_stream(io.BytesIO(raw[:-1]).read, 4))


def test_three_readers_deliver_identical_data(channel):
    lab, s3, bucket = channel
    expected = b"".join(io_modes.make_shard(100, i) for i in range(5))
    readers = {
        "File": io_modes.FileModeReader(s3, bucket, "ch", lab.workdir / "file"),
        "FastFile": io_modes.FastFileReader(s3, bucket, "ch", chunk_bytes=1000),
        "Pipe": io_modes.PipeReader(s3, bucket, "ch"),
    }
    for mode, reader in readers.items():
        got = np.concatenate(list(reader.batches(64))).tobytes()
        assert got == expected, mode
        assert reader.stats.bytes_fetched == len(expected), mode
    assert readers["File"].stats.bytes_on_disk == len(expected)
    assert readers["FastFile"].stats.bytes_on_disk == 0  # FastFile needs no room on disk
    # 5 HEADs + ceil(100 * 64 / 1000) = 7 ranged GETs per object
    assert readers["FastFile"].stats.requests == 5 + 5 * 7
    assert readers["Pipe"].stats.requests == 5
    assert readers["File"].stats.requests == 5


def test_fastfile_random_access_fetches_one_chunk(channel):
    _, s3, bucket = channel
    reader = io_modes.FastFileReader(s3, bucket, "ch", chunk_bytes=256)
    with reader.open("ch/part-00002.bin") as handle:
        handle.seek(10 * RECORD_BYTES)
        got = handle.read(RECORD_BYTES)
        assert handle.tell() == 11 * RECORD_BYTES
    assert got == io_modes.make_shard(100, 2)[10 * RECORD_BYTES : 11 * RECORD_BYTES]
    assert reader.stats.requests == 2  # one HEAD, one ranged GET
    assert reader.stats.bytes_fetched == 256


def test_pipe_reader_can_stop_early_and_missing_data_fails(channel):
    _, s3, bucket = channel
    first = next(io_modes.PipeReader(s3, bucket, "ch").batches(8))
    assert first.shape == (8, FEATURES + 1)
    with pytest.raises(FileNotFoundError):
        list(io_modes.PipeReader(s3, bucket, "nothing-here").batches(8))


def test_measure_counts_every_record_and_batches_span_objects(channel):
    lab, s3, bucket = channel
    pipe = io_modes.PipeReader(s3, bucket, "ch")
    files = io_modes.FileModeReader(s3, bucket, "ch", lab.workdir / "f")
    first_p, total_p, records_p = io_modes.measure(pipe, batch_records=64)
    first_f, total_f, records_f = io_modes.measure(files, batch_records=64)
    assert records_p == records_f == 500
    assert 0 <= first_p <= total_p and 0 <= first_f <= total_f


def test_sgd_step_matches_a_hand_computed_gradient():
    batch = np.zeros((2, FEATURES + 1), dtype=np.float32)
    batch[0, 0], batch[0, FEATURES] = 1.0, 1.0  # x = e1, y = 1
    batch[1, 1], batch[1, FEATURES] = 1.0, 0.0  # x = e2, y = 0
    w = io_modes.sgd_step(np.zeros(FEATURES), batch, lr=1.0)
    # p = 0.5 for both; grad = X^T (p - y) / 2 = (-0.25, +0.25, 0, ...)
    assert w[0] == pytest.approx(0.25) and w[1] == pytest.approx(-0.25)
    assert np.all(w[2:] == 0)


def test_modelled_start_by_hand():
    # 10 files of 1 MB at 1 MB/s, 10 ms latency, one at a time: 10 x 0.01 + 10 s
    assert io_modes.modelled_start("File", 10, 1e6, 0.01, 1e6, 4096) == pytest.approx(10.1)
    # five at a time: 2 rounds of latency
    assert io_modes.modelled_start("File", 10, 1e6, 0.01, 1e6, 4096, 5) == pytest.approx(
        10.02
    )
    assert io_modes.modelled_start("Pipe", 10, 1e6, 0.01, 1e6, 4096) == pytest.approx(
        0.014096
    )
    with pytest.raises(ValueError):
        io_modes.modelled_start("Tape", 1, 1, 0.0, 1.0, 1)
