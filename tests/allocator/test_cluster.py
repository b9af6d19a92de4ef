"""The same scripts on a real three-node Redis Cluster, two networks on different shards."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from allocator.engine import Allocator
from allocator.keys import NetworkKeys

from .factories import CHEST_XR, HOUR, MIN, T0, radiographer, radiologist, study

pytestmark = pytest.mark.cluster


def _free_port() -> int:
    """A port free for both the node and its cluster bus (port + 10000)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def _wait(cond: object, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError(what)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("redis-server / redis-cli not installed")
    base = tmp_path_factory.mktemp("cluster")
    ports: list[int] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(3):
            port = _free_port()
            ports.append(port)
            d = Path(base, str(i))
            d.mkdir()
            procs.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(d),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            _wait(lambda p=port: _cli(p, "ping") == "PONG", f"node {port} up")
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for port in ports:
            _wait(lambda p=port: "cluster_state:ok" in _cli(p, "cluster", "info"), "cluster ok")
        client = RedisCluster(host="127.0.0.1", port=ports[0], decode_responses=True)
        try:
            yield client
        finally:
            client.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def _cli(port: int, *args: str) -> str:
    res = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=5
    )
    return res.stdout.strip()


def _two_networks_on_different_shards(client: RedisCluster) -> tuple[str, str]:
    seen: dict[str, str] = {}
    for name in ["wm", "nw", "ne", "sw", "se", "yh", "em", "ee", "lon", "kss", "tv", "cm"]:
        node = client.get_node_from_key(NetworkKeys(name).epoch).name
        if seen and node not in seen.values():
            return next(iter(seen)), name
        seen.setdefault(name, node)
    raise AssertionError("all candidate networks on one shard")


def _scenario(alloc: Allocator) -> None:
    alloc.reset()
    alloc.upsert_reporter(radiologist("r1", sites=("A", "B"), subspecialties=["neuro"]))
    alloc.upsert_reporter(radiographer("g1", [CHEST_XR]))
    for rid in ("r1", "g1"):
        alloc.start_session(rid, "core", T0)
    studies = [study(f"s{i}", modality=["CR", "CT"][i % 2], due_ms=T0 + i * 10 * MIN + HOUR,
                     patient_key=f"P{i % 3}") for i in range(20)]  # fmt: skip
    alloc.enqueue(studies, T0)
    pushes = alloc.enqueue(
        [study("stroke", modality="CT", body_part="HEAD", urgency="stroke", due_ms=T0 + 30 * MIN)],
        T0,
    )
    assert [p.reporter_id for p in pushes] == ["r1"]
    claimed = set()
    for _ in range(30):
        for rid in ("r1", "g1"):
            c = alloc.claim(rid, T0, 10 * MIN)
            if c is not None:
                assert c.study_id not in claimed
                claimed.add(c.study_id)
                if c.reporter_id == "g1":
                    assert c.study_id in {s.study_id for s in studies if s.modality == "CR"}
    assert len(claimed) == 21 and alloc.waiting_count() == 0
    c = alloc.claim("r1", T0, 10 * MIN)
    assert c is None
    some = sorted(claimed)[:5]
    assert alloc.release(alloc.lease_holder(some[0])[0], some[0], T0)  # type: ignore[index]
    assert alloc.complete(alloc.lease_holder(some[1])[0], some[1], T0)  # type: ignore[index]
    assert len(alloc.expire_leases(T0 + 10 * MIN)) == 19
    assert alloc.waiting_count() == 20
    alloc.widen(T0 + 24 * HOUR)
    alloc.remove(some)
    assert alloc.end_session("r1", T0) == []
    profiles = [radiologist("r1", sites=("A",))]
    alloc.rebuild(profiles, {"r1": "core"}, studies[:3], [(studies[5], "r1", T0 + HOUR)], T0)
    assert alloc.waiting_count() == 3 and alloc.lease_holder("s5") == ("r1", T0 + HOUR)
    assert alloc.claim("r1", T0, MIN) is not None


def test_two_networks_on_two_shards(cluster: RedisCluster) -> None:
    n1, n2 = _two_networks_on_different_shards(cluster)
    a1, a2 = Allocator(cluster, n1), Allocator(cluster, n2)
    _scenario(a1)
    _scenario(a2)
    # each network's keys all live on its own shard
    for net in (n1, n2):
        k = NetworkKeys(net)
        nodes = {cluster.get_node_from_key(key).name for key in [*k.fixed(), k.plan("r")]}
        assert len(nodes) == 1
    assert cluster.get_node_from_key(NetworkKeys(n1).epoch) != cluster.get_node_from_key(
        NetworkKeys(n2).epoch
    )
    a1.reset()
    assert a1.is_empty() and not a2.is_empty()
    a2.reset()
