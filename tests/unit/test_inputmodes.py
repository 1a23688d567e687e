"""Unit tests of labkit.inputmodes: shards, the three readers, timing and the model."""

import io

import numpy as np
import pytest

import labkit
from labkit.errors import LabKitError
from labkit.inputmodes import (
    FEATURES,
    RECORD_BYTES,
    FastFileReader,
    FileModeReader,
    PipeReader,
    RequestBlocked,
    RequestRecorder,
    batches_from_stream,
    make_shard,
    measure,
    modelled_times,
    upload_shards,
)


@pytest.fixture()
def channel():
    with labkit.lab_context("08-training-input-modes") as lab:
        s3 = lab.client("s3")
        bucket = lab.bucket("data")
        upload_shards(s3, bucket, "ch", n_files=5, records_per_file=100)
        yield lab, s3, bucket


def test_make_shard_is_whole_records_with_learnable_label():
    data = np.frombuffer(make_shard(50, seed=3), dtype=np.float32).reshape(-1, FEATURES + 1)
    assert data.shape == (50, FEATURES + 1)
    assert np.array_equal(data[:, -1], (data[:, :-1].sum(axis=1) > 0).astype(np.float32))
    assert make_shard(50, 3) == make_shard(50, 3) != make_shard(50, 4)
    with pytest.raises(LabKitError):
        make_shard(0, 0)


def test_batches_from_stream_keeps_records_whole():
    raw = make_shard(10, 0)
    got = list(batches_from_stream(io.BytesIO(raw).read, batch_records=4))
    assert [len(b) for b in got] == [4, 4, 2]
    assert np.concatenate(got).tobytes() == raw
    with pytest.raises(LabKitError):
        list(batches_from_stream(io.BytesIO(raw[:-1]).read, 4))


def test_three_readers_deliver_identical_data(channel):
    lab, s3, bucket = channel
    expected = b"".join(make_shard(100, i) for i in range(5))
    readers = {
        "File": FileModeReader(s3, bucket, "ch", lab.workdir / "file"),
        "FastFile": FastFileReader(s3, bucket, "ch", chunk_bytes=1000),
        "Pipe": PipeReader(s3, bucket, "ch"),
    }
    for mode, reader in readers.items():
        got = np.concatenate(list(reader.batches(64))).tobytes()
        assert got == expected, mode
        assert reader.stats.bytes_fetched == len(expected), mode
    assert readers["File"].stats.bytes_on_disk == len(expected)
    assert readers["FastFile"].stats.bytes_on_disk == 0
    # 5 HEADs + ceil(100 * 64 / 1000) = 7 ranged GETs per object
    assert readers["FastFile"].stats.requests == 5 + 5 * 7
    assert readers["Pipe"].stats.requests == 5


def test_fastfile_supports_random_access(channel):
    _, s3, bucket = channel
    reader = FastFileReader(s3, bucket, "ch", chunk_bytes=256)
    with reader.open("ch/part-00002.bin") as handle:
        handle.seek(10 * RECORD_BYTES)
        got = handle.read(RECORD_BYTES)
        assert handle.tell() == 11 * RECORD_BYTES
    assert got == make_shard(100, 2)[10 * RECORD_BYTES : 11 * RECORD_BYTES]
    assert reader.stats.requests == 2  # one HEAD, one ranged GET: nothing else fetched


def test_pipe_reader_can_stop_early_and_reports_missing_data(channel):
    _, s3, bucket = channel
    first = next(PipeReader(s3, bucket, "ch").batches(8))
    assert first.shape == (8, FEATURES + 1)
    with pytest.raises(LabKitError):
        list(PipeReader(s3, bucket, "nothing-here").batches(8))


def test_measure_counts_every_record(channel):
    lab, s3, bucket = channel
    pipe = measure("Pipe", PipeReader(s3, bucket, "ch"), batch_records=64)
    files = measure("File", FileModeReader(s3, bucket, "ch", lab.workdir / "f"), 64)
    assert pipe.records == files.records == 500
    assert files.batches == 10  # 5 files x ceil(100 / 64): batches end with each file
    assert pipe.batches == 8  # ceil(500 / 64): one stream, batches span object borders
    assert pipe.checksum == files.checksum
    assert 0 <= pipe.first_batch_s <= pipe.total_s


def test_modelled_times():
    first, total = modelled_times("File", 10, 1_000_000, 0.01, 1e6, 4096)
    assert first == total == pytest.approx(10 * 0.01 + 10.0)
    first, total = modelled_times("FastFile", 10, 1_000_000, 0.01, 1e6, 4096, 5)
    assert first == pytest.approx(0.01 + 0.004096)
    assert total == pytest.approx(2 * 0.01 + 10.0)
    with pytest.raises(LabKitError):
        modelled_times("Tape", 1, 1, 0.0, 1.0, 1)
    with pytest.raises(LabKitError):
        modelled_times("File", 1, 1, 0.0, 0.0, 1)


def test_request_recorder_keeps_parameters():
    with labkit.lab_context("08-training-input-modes") as lab:
        recorder = RequestRecorder.attach(lab.boto_session, "s3")
        lab.client("s3").list_buckets()
        lab.client("s3").head_bucket(Bucket=lab.bucket("data"))
        assert recorder.last("HeadBucket") == {"Bucket": lab.bucket("data")}
        with pytest.raises(LabKitError):
            recorder.last("PutObject")


def test_request_recorder_can_block_a_call():
    with labkit.lab_context("08-training-input-modes") as lab:
        recorder = RequestRecorder.attach(lab.boto_session, "s3")
        recorder.block = {"CreateBucket"}
        s3 = lab.client("s3")
        with pytest.raises(RequestBlocked):
            s3.create_bucket(Bucket="never-sent")
        assert recorder.last("CreateBucket") == {"Bucket": "never-sent"}
        assert "never-sent" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
