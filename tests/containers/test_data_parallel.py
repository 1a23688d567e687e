"""Lab 25b's data-parallel lesson, tested as the learner reads it (no Docker needed).

The functions come from the lab's ``#@save`` cells: the same text the lab ships into both
training containers. The all-reduce runs here between threads on 127.0.0.1, with uneven
vectors and more hosts than the lab uses; the shard choice and the cluster reading run on
files in a temporary folder.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from labkit import lessons
from labkit.localmode import free_port


@pytest.fixture(scope="module")
def dp() -> ModuleType:
    return lessons.load("25b-data-parallel-training")


def run_hosts(dp: ModuleType, vectors: list[np.ndarray]) -> dict[int, Any]:
    """Every rank in a thread: connect, all-reduce its vector once, close."""
    port, results, errors = free_port(), {}, []
    hosts = ["127.0.0.1"] + [f"worker-{i}" for i in range(1, len(vectors))]

    def host(rank: int) -> None:
        try:
            links = dp.connect(hosts, rank, port, timeout=10)
            results[rank] = dp.allreduce_sum(vectors[rank], links, rank)
            for link in links:
                link.close()
        except Exception as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=host, args=(r,)) for r in range(len(vectors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.parametrize("n_hosts", [2, 4])
def test_every_host_gets_the_sum(dp: ModuleType, n_hosts: int) -> None:
    rng = np.random.default_rng(n_hosts)
    vectors = [rng.normal(size=7) * 10.0 ** rng.integers(-3, 4) for _ in range(n_hosts)]
    results = run_hosts(dp, vectors)
    expected = np.sum(vectors, axis=0)
    assert sorted(results) == list(range(n_hosts))
    for total, _, _ in results.values():
        assert np.allclose(total, expected, rtol=1e-14, atol=0)
    payload = 7 * 8
    assert results[0][1:] == (payload * (n_hosts - 1), payload * (n_hosts - 1))
    for rank in range(1, n_hosts):
        assert results[rank][1:] == (payload, payload)


def test_the_total_is_bit_identical_on_every_host(dp: ModuleType) -> None:
    results = run_hosts(dp, [np.array([0.1, 1e-17]), np.array([0.2, 1.0])])
    assert results[0][0].tobytes() == results[1][0].tobytes()


def test_recv_exactly_joins_pieces_and_notices_a_closed_peer(dp: ModuleType) -> None:
    a, b = socket.socketpair()
    with a, b:
        def send_in_pieces() -> None:
            for i in range(4):  # four pieces with pauses: four recv() calls at least
                a.sendall(bytes([i]) * 3)
                threading.Event().wait(0.05)

        sender = threading.Thread(target=send_in_pieces)
        sender.start()
        assert dp.recv_exactly(b, 12) == b"\x00" * 3 + b"\x01" * 3 + b"\x02" * 3 + b"\x03" * 3
        sender.join()
        a.sendall(b"xy")
        a.shutdown(socket.SHUT_WR)
        with pytest.raises(ConnectionError):
            dp.recv_exactly(b, 3)


def test_a_worker_waits_for_rank_zero_to_listen(dp: ModuleType) -> None:
    port, got = free_port(), {}

    def worker() -> None:
        got["links"] = dp.connect(["127.0.0.1", "w"], 1, port, timeout=10)

    thread = threading.Thread(target=worker)
    thread.start()  # nobody listens yet: the worker must retry, not fail
    threading.Event().wait(0.6)
    links = dp.connect(["127.0.0.1", "w"], 0, port, timeout=10)
    thread.join(timeout=10)
    assert len(links) == 1 and len(got["links"]) == 1
    for sock in (*links, *got["links"]):
        sock.close()


def test_shards_cover_every_file_once(dp: ModuleType) -> None:
    files = [f"part-{i:05d}.csv" for i in (4, 0, 3, 1, 2)]  # listed out of order
    shares = [dp.my_files(files, rank, 2) for rank in range(2)]
    assert shares == [["part-00000.csv", "part-00002.csv", "part-00004.csv"],
                      ["part-00001.csv", "part-00003.csv"]]
    three = [dp.my_files(files, rank, 3) for rank in range(3)]
    assert sorted(f for share in three for f in share) == sorted(files)
    assert dp.my_files(files, 1, 2, already_sharded=True) == sorted(files)


def test_rank_is_the_position_in_the_sorted_hosts(dp: ModuleType, tmp_path: Path) -> None:
    config = {"current_host": "algo-2", "hosts": ["algo-3", "algo-1", "algo-2"],
              "network_interface_name": "eth0"}
    (tmp_path / "resourceconfig.json").write_text(json.dumps(config))
    assert dp.read_cluster(str(tmp_path)) == ("algo-2", ["algo-1", "algo-2", "algo-3"], 1)


def test_step_seconds_by_hand(dp: ModuleType) -> None:
    assert dp.step_seconds(1, 2.0, 1e9, 1e9, 1.0) == 2.0  # one worker: no all-reduce
    # 4 workers: 6 rounds; 6/4 x 8e9 B at 4e9 B/s = 3 s; 6 x 0.5 s latency; 8/4 compute
    assert dp.step_seconds(4, 8.0, 8e9, 4e9, 0.5) == pytest.approx(2 + 3 + 3)
