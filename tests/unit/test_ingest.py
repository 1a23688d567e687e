"""Lab 20's stand-ins (labkit.standins.ingest) and its #@save shard routing."""

from __future__ import annotations

import hashlib
import io
import struct

import numpy as np
import pytest

from labkit import lessons
from labkit.standins.ingest import (
    RECORDIO_MAGIC,
    encode_record,
    frame,
    read_dense_recordio,
    telemetry,
    write_dense_recordio,
)


def test_one_float_record_matches_hand_encoded_protobuf():
    # Record{features: {"values": Value{float32_tensor: Float32Tensor{values: [1.0]}}}}
    # worked by hand from the wire format: tag, length, payload at every level.
    expected = bytes.fromhex(
        "0a12"            # Record.features (field 1, length 18): one map entry
        "0a06" + b"values".hex() +  # entry.key (field 1) = "values"
        "1208"            # entry.value (field 2, length 8): a Value
        "1206"            # Value.float32_tensor (field 2, length 6)
        "0a04" "0000803f"  # Float32Tensor.values (field 1, packed): 1.0 little-endian
    )
    assert encode_record(np.array([1.0])) == expected


def test_recordio_frame_has_magic_length_and_padding():
    framed = frame(b"abcde")
    assert framed[:4] == bytes.fromhex("0a23d7ce")  # 0xCED7230A little-endian
    assert struct.unpack("<I", framed[4:8])[0] == 5
    assert framed[8:] == b"abcde\0\0\0"  # padded to a multiple of 4
    assert RECORDIO_MAGIC == 0xCED7230A


def test_nine_features_and_a_label_take_80_bytes_and_read_back():
    rows = np.arange(18, dtype="float32").reshape(2, 9)
    buf = io.BytesIO()
    assert write_dense_recordio(buf, rows, labels=np.array([0, 1])) == 160
    buf.seek(0)
    back, labels = read_dense_recordio(buf)
    assert np.array_equal(back, rows) and labels.tolist() == [0.0, 1.0]


def test_writer_rejects_bad_shapes():
    with pytest.raises(ValueError):
        write_dense_recordio(io.BytesIO(), np.zeros(3))
    with pytest.raises(ValueError):
        write_dense_recordio(io.BytesIO(), np.zeros((2, 2)), labels=np.zeros(3))


def test_the_pinned_sdk_still_stubs_out_the_recordio_writer():
    """Lab 20 says sagemaker 3.27.0 cannot write RecordIO-protobuf; this fails when it can."""
    from sagemaker.core.serializers.utils import write_numpy_to_dense_tensor

    with pytest.raises(NotImplementedError):
        write_numpy_to_dense_tensor(io.BytesIO(), np.zeros((1, 1)))


def test_telemetry_is_deterministic_with_a_rare_label():
    a, b = telemetry(2_000, seed=3), telemetry(2_000, seed=3)
    assert a.equals(b) and a.shape == (2_000, 12)
    assert 0.02 < a["failure"].mean() < 0.10


TWO_SHARDS = [
    {"ShardId": "shardId-0", "HashKeyRange": {"StartingHashKey": "0",
                                              "EndingHashKey": str(2**127 - 1)}},
    {"ShardId": "shardId-1", "HashKeyRange": {"StartingHashKey": str(2**127),
                                              "EndingHashKey": str(2**128 - 1)}},
]


def test_shard_for_hashes_the_partition_key_with_md5():
    shard_for = lessons.load("20-ingesting-training-data").shard_for
    # md5("a") = 0cc175b9..., below 2**127; md5("b") = 92eb5ffe..., above it
    assert hashlib.md5(b"a").hexdigest().startswith("0cc1")
    assert shard_for("a", TWO_SHARDS) == "shardId-0"
    assert shard_for("b", TWO_SHARDS) == "shardId-1"
    with pytest.raises(ValueError):
        shard_for("b", TWO_SHARDS[:1])
