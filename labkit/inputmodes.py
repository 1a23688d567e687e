"""Three ways a training loop can read a channel of S3 objects (chapter 08).

SageMaker offers File, FastFile and Pipe input modes. They differ in *when* bytes move from
S3 to the training code, and this module reproduces that difference with plain S3 calls so
that a notebook can time it:

- :class:`FileModeReader` downloads every object to local disk first, then reads from disk
  (start-up grows with the data; the disk must hold all of it).
- :class:`FastFileReader` lists the objects, then fetches bytes only when the loop reads
  them, with ranged ``GetObject`` calls behind a file-like object (:class:`S3RangeFile`).
- :class:`PipeReader` streams all objects, one after the other, through an operating-system
  FIFO (``os.pipe``) that a background thread fills — the loop can only read forward.

All three yield the same batches of fixed-size float32 records, so the lab can check that
they deliver identical data. :func:`measure` times time-to-first-batch and total time, and
:func:`modelled_times` turns stated latency and bandwidth assumptions into the times S3
over a network would give. :class:`RequestRecorder` keeps the parameters of API calls a
boto3 session makes (to show the CreateTrainingJob request the SDK builds).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labkit.errors import LabKitError
from labkit.requests import RequestBlocked, RequestRecorder

__all__ = ["RequestBlocked", "RequestRecorder"]  # re-exported for labs 08 and 09

FEATURES = 15
"""Feature columns per record; each record is FEATURES floats and one label (float32)."""

RECORD_BYTES = (FEATURES + 1) * 4
"""Size of one record in bytes."""


# ---------------------------------------------------------------------------- the data set
def make_shard(records: int, seed: int) -> bytes:
    """One shard: ``records`` rows of FEATURES float32 features and a 0/1 label.

    The label is 1 when the sum of the features is positive, so a model can learn it.
    """
    if records <= 0:
        raise LabKitError(
            f"make_shard(records={records}): a shard needs at least one record.",
            "pass a positive number of records.",
        )
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((records, FEATURES)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.float32)
    return np.column_stack([x, y]).astype(np.float32).tobytes()


def upload_shards(
    s3: Any, bucket: str, prefix: str, n_files: int, records_per_file: int, seed: int = 0
) -> list[str]:
    """Put ``n_files`` shards under ``prefix`` and return their keys (sorted)."""
    keys = []
    for i in range(n_files):
        key = f"{prefix.rstrip('/')}/part-{i:05d}.bin"
        s3.put_object(Bucket=bucket, Key=key, Body=make_shard(records_per_file, seed + i))
        keys.append(key)
    return keys


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """All keys under ``prefix`` in lexical order (the order SageMaker lists them in)."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    if not keys:
        raise LabKitError(
            f"No objects under s3://{bucket}/{prefix}.",
            "upload the shards first (upload_shards) and check the prefix.",
        )
    return sorted(keys)


def batches_from_stream(read: Callable[[int], bytes], batch_records: int) -> Iterator[np.ndarray]:
    """Cut a byte stream into batches of whole records (the last batch may be shorter)."""
    want = batch_records * RECORD_BYTES
    buffer = b""
    while True:
        chunk = read(want - len(buffer))
        if not chunk:
            break
        buffer += chunk
        if len(buffer) == want:
            yield np.frombuffer(buffer, dtype=np.float32).reshape(-1, FEATURES + 1)
            buffer = b""
    if len(buffer) % RECORD_BYTES:
        raise LabKitError(
            f"The stream ended inside a record ({len(buffer) % RECORD_BYTES} stray bytes).",
            "every object must hold whole records of RECORD_BYTES bytes.",
        )
    if buffer:
        yield np.frombuffer(buffer, dtype=np.float32).reshape(-1, FEATURES + 1)


# ---------------------------------------------------------------------------- readers
@dataclass
class ReaderStats:
    """What a reader did: S3 requests, bytes fetched, bytes written to local disk."""

    requests: int = 0
    bytes_fetched: int = 0
    bytes_on_disk: int = 0


@dataclass
class FileModeReader:
    """File mode: download the whole channel to ``local_dir``, then read from disk."""

    s3: Any
    bucket: str
    prefix: str
    local_dir: Path
    stats: ReaderStats = field(default_factory=ReaderStats)

    def batches(self, batch_records: int) -> Iterator[np.ndarray]:
        """Yield batches; nothing is yielded until every object is on local disk."""
        self.local_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for key in list_keys(self.s3, self.bucket, self.prefix):
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            path = self.local_dir / key.replace("/", "_")
            path.write_bytes(body)
            paths.append(path)
            self.stats.requests += 1
            self.stats.bytes_fetched += len(body)
            self.stats.bytes_on_disk += len(body)
        for path in paths:
            with path.open("rb") as handle:
                yield from batches_from_stream(handle.read, batch_records)


class S3RangeFile(io.RawIOBase):
    """A read-only, seekable file over one S3 object that fetches bytes on demand.

    Each ``read`` that passes the end of the cached chunk issues one ranged ``GetObject``
    for ``chunk_bytes`` (or what is left). This is what FastFile mode gives a training
    script: an ordinary file, whose bytes arrive only when asked for.
    """

    def __init__(
        self, s3: Any, bucket: str, key: str, size: int, chunk_bytes: int, stats: ReaderStats
    ) -> None:
        super().__init__()
        if chunk_bytes <= 0:
            raise LabKitError(
                f"S3RangeFile(chunk_bytes={chunk_bytes}) cannot fetch anything.",
                "pass a positive chunk size, e.g. 64 * 1024.",
            )
        self.s3, self.bucket, self.key, self.size = s3, bucket, key, size
        self.chunk_bytes, self.stats = chunk_bytes, stats
        self.position = 0
        self._chunk_start, self._chunk = 0, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, min(self.size, base + offset))
        return self.position

    def tell(self) -> int:
        return self.position

    def _fetch(self, start: int) -> None:
        end = min(self.size, start + self.chunk_bytes) - 1
        body = self.s3.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}"
        )["Body"].read()
        self.stats.requests += 1
        self.stats.bytes_fetched += len(body)
        self._chunk_start, self._chunk = start, body

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.position
        out = bytearray()
        while size > 0 and self.position < self.size:
            offset = self.position - self._chunk_start
            if not 0 <= offset < len(self._chunk):
                self._fetch(self.position)
                offset = 0
            piece = self._chunk[offset : offset + size]
            out += piece
            self.position += len(piece)
            size -= len(piece)
        return bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class FastFileReader:
    """FastFile mode: list the objects, then read each through an :class:`S3RangeFile`."""

    s3: Any
    bucket: str
    prefix: str
    chunk_bytes: int = 64 * 1024
    stats: ReaderStats = field(default_factory=ReaderStats)

    def open(self, key: str) -> S3RangeFile:
        """Open one object as a lazy, seekable file (random access works, too)."""
        size = int(self.s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        self.stats.requests += 1
        return S3RangeFile(self.s3, self.bucket, key, size, self.chunk_bytes, self.stats)

    def batches(self, batch_records: int) -> Iterator[np.ndarray]:
        """Yield batches; the first needs only one listing, one HEAD and one ranged GET."""
        for key in list_keys(self.s3, self.bucket, self.prefix):
            with self.open(key) as handle:
                yield from batches_from_stream(handle.read, batch_records)


@dataclass
class PipeReader:
    """Pipe mode: one forward-only stream of all objects through an ``os.pipe`` FIFO.

    A background thread downloads the objects in order and writes their bytes into the
    pipe; the training loop reads from the other end. Reading blocks until bytes arrive,
    and there is no seeking back: a second epoch needs a new stream.
    """

    s3: Any
    bucket: str
    prefix: str
    stats: ReaderStats = field(default_factory=ReaderStats)

    def _produce(self, keys: list[str], fd: int, errors: list[BaseException]) -> None:
        try:
            with os.fdopen(fd, "wb", buffering=0) as sink:
                for key in keys:
                    body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
                    self.stats.requests += 1
                    while chunk := body.read(64 * 1024):
                        sink.write(chunk)
                        self.stats.bytes_fetched += len(chunk)
        except BrokenPipeError:
            pass  # the reader stopped early (closed its end); nothing more to send
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            errors.append(exc)

    def batches(self, batch_records: int) -> Iterator[np.ndarray]:
        """Yield batches as soon as the first object's bytes flow through the FIFO."""
        keys = list_keys(self.s3, self.bucket, self.prefix)
        read_fd, write_fd = os.pipe()
        errors: list[BaseException] = []
        producer = threading.Thread(
            target=self._produce, args=(keys, write_fd, errors), daemon=True
        )
        producer.start()
        try:
            with os.fdopen(read_fd, "rb", buffering=0) as fifo:

                def read_exactly(n: int) -> bytes:
                    out = b""
                    while len(out) < n:
                        chunk = fifo.read(n - len(out))
                        if not chunk:
                            break
                        out += chunk
                    return out

                yield from batches_from_stream(read_exactly, batch_records)
        finally:
            producer.join(timeout=30)
        if errors:
            raise LabKitError(
                f"The pipe's producer failed: {errors[0]!r}.",
                "check that the bucket and prefix exist and the objects can be read.",
            )


# ---------------------------------------------------------------------------- timing
@dataclass
class Timing:
    """One measured pass over a channel."""

    mode: str
    first_batch_s: float
    total_s: float
    batches: int
    records: int
    checksum: float
    stats: ReaderStats


def sgd_step(weights: np.ndarray, batch: np.ndarray, lr: float = 0.05) -> np.ndarray:
    """One logistic-regression gradient step on a batch (the 'training' per batch)."""
    x, y = batch[:, :FEATURES], batch[:, FEATURES]
    p = 1.0 / (1.0 + np.exp(-(x @ weights)))
    return weights - lr * x.T @ (p - y) / len(y)


def measure(mode: str, reader: Any, batch_records: int = 256) -> Timing:
    """Run one epoch of :func:`sgd_step` over ``reader`` and time it.

    ``first_batch_s`` is the wall time from the start until the first batch is in the
    loop's hands (what a job's start-up looks like to the training script); ``total_s``
    includes every batch and its training step.
    """
    weights = np.zeros(FEATURES)
    start = time.perf_counter()
    first = None
    n_batches = n_records = 0
    checksum = 0.0
    for batch in reader.batches(batch_records):
        if first is None:
            first = time.perf_counter() - start
        weights = sgd_step(weights, batch)
        n_batches += 1
        n_records += len(batch)
        checksum += float(batch[:, FEATURES].sum())
    total = time.perf_counter() - start
    if first is None:
        raise LabKitError(f"The {mode} reader yielded no batch.", "upload data first.")
    return Timing(mode, first, total, n_batches, n_records, checksum, reader.stats)


def modelled_times(
    mode: str,
    n_files: int,
    file_bytes: int,
    latency_s: float,
    bandwidth_bytes_s: float,
    first_read_bytes: int,
    parallel_downloads: int = 1,
) -> tuple[float, float]:
    """(time to first batch, time to have read everything) under stated assumptions.

    A simple model, not a measurement: every request costs ``latency_s`` before its bytes
    flow at ``bandwidth_bytes_s``. File mode must finish all downloads (``parallel_downloads``
    at a time share the bandwidth) before the first batch; FastFile and Pipe need one
    request and ``first_read_bytes`` before it. Compute time is left out.
    """
    if min(n_files, file_bytes, first_read_bytes, parallel_downloads) <= 0:
        raise LabKitError(
            "modelled_times needs positive file counts, sizes and parallelism.",
            "pass n_files, file_bytes, first_read_bytes, parallel_downloads > 0.",
        )
    if latency_s < 0 or bandwidth_bytes_s <= 0:
        raise LabKitError(
            "modelled_times needs latency >= 0 and bandwidth > 0.",
            "state the assumptions, e.g. latency_s=0.02, bandwidth_bytes_s=100e6.",
        )
    total_bytes = n_files * file_bytes
    rounds = -(-n_files // parallel_downloads)
    all_data = rounds * latency_s + total_bytes / bandwidth_bytes_s
    if mode == "File":
        return all_data, all_data
    if mode in ("FastFile", "Pipe"):
        return latency_s + first_read_bytes / bandwidth_bytes_s, all_data
    raise LabKitError(
        f"Unknown input mode {mode!r}.", "use 'File', 'FastFile' or 'Pipe'."
    )
