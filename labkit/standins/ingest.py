"""Stand-ins for lab 20 (ingesting training data).

- :func:`write_dense_recordio` stands in for the SageMaker Python SDK v2 function
  ``sagemaker.amazon.common.write_numpy_to_dense_tensor``. In sagemaker 3.27.0 its successor
  ``sagemaker.core.serializers.utils.write_numpy_to_dense_tensor`` is a stub that raises
  ``NotImplementedError`` (the protobuf ``Record`` class is not shipped). This module writes
  the same bytes by hand: RecordIO framing around a protobuf ``Record`` message whose
  ``features["values"]`` (and ``label["values"]``) is a ``Float32Tensor``, as defined in
  AWS's "Common data formats for training" page.
- :func:`read_dense_recordio` reads such a file back (for checks, not speed).
- :func:`telemetry` makes the lab's synthetic data set (machine sensor readings).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd

RECORDIO_MAGIC = 0xCED7230A  # the first 4 bytes of every RecordIO record


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _float32_entry(map_field: int, values: np.ndarray) -> bytes:
    """One ``map<string, Value>`` entry ``"values" -> Float32Tensor(values)``."""
    packed = np.ascontiguousarray(values, dtype="<f4").tobytes()
    tensor = _field(1, packed)  # Float32Tensor.values = 1 (packed)
    value = _field(2, tensor)  # Value.float32_tensor = 2
    entry = _field(1, b"values") + _field(2, value)  # map entry: key = 1, value = 2
    return _field(map_field, entry)


def encode_record(features: np.ndarray, label: float | None = None) -> bytes:
    """The protobuf bytes of one ``Record`` (features = 1, label = 2)."""
    body = _float32_entry(1, features)
    if label is not None:
        body += _float32_entry(2, np.array([label]))
    return body


def frame(data: bytes) -> bytes:
    """RecordIO framing: magic, length (little-endian uint32), data, zero padding to 4."""
    pad = -len(data) % 4
    return struct.pack("<II", RECORDIO_MAGIC, len(data)) + data + b"\0" * pad


def write_dense_recordio(file: BinaryIO, array: np.ndarray,
                         labels: np.ndarray | None = None) -> int:
    """Write each row of a 2-D array as one RecordIO-protobuf record; return bytes written."""
    if array.ndim != 2:
        raise ValueError("array must be 2-D (rows x features)")
    if labels is not None and len(labels) != len(array):
        raise ValueError("labels must have one value per row")
    written = 0
    for i, row in enumerate(array):
        record = frame(encode_record(row, None if labels is None else float(labels[i])))
        file.write(record)
        written += len(record)
    return written


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        if key & 7 != 2:
            raise ValueError(f"unexpected wire type {key & 7}")
        size, pos = _read_varint(buf, pos)
        yield key >> 3, buf[pos:pos + size]
        pos += size


def _tensor(entry: bytes) -> np.ndarray:
    value = dict(_fields(entry))[2]  # map entry value
    tensor = dict(_fields(value))[2]  # Value.float32_tensor
    return np.frombuffer(dict(_fields(tensor))[1], dtype="<f4")


def read_dense_recordio(file: BinaryIO) -> tuple[np.ndarray, np.ndarray]:
    """Read back (features, labels) written by :func:`write_dense_recordio`."""
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    while header := file.read(8):
        magic, length = struct.unpack("<II", header)
        if magic != RECORDIO_MAGIC:
            raise ValueError("not a RecordIO record")
        data = file.read(length)
        file.read(-length % 4)
        for number, entry in _fields(data):
            (rows if number == 1 else labels).append(_tensor(entry))
    label_array = np.concatenate(labels) if labels else np.array([], dtype="<f4")
    return np.vstack(rows), label_array


def telemetry(rows: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic hourly sensor readings of machines on several sites, with a failure label."""
    rng = np.random.default_rng(seed)
    frame_ = pd.DataFrame({
        "machine_id": rng.integers(1000, 1400, rows).astype("int32"),
        "site": pd.Categorical(rng.choice(["berlin", "lyon", "porto", "turin"], rows)),
        "hour": pd.Timestamp("2026-11-01")
        + pd.to_timedelta(rng.integers(0, 24 * 30, rows), unit="h"),
    })
    for i, name in enumerate(["temp_c", "vibration", "pressure", "rpm", "current_a",
                              "humidity", "voltage", "load_pct"]):
        frame_[name] = rng.normal(50 + 10 * i, 5 + i, rows).round(3).astype("float32")
    risk = 0.08 * (frame_["temp_c"] - 50) + 0.05 * (frame_["vibration"] - 60)
    frame_["failure"] = (rng.random(rows) < 1 / (1 + np.exp(-(risk - 3)))).astype("int8")
    return frame_
