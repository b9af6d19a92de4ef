"""Redis's own time per script call, from its slow log (``load_tests/redis_server_time``), on
the real server; and ``bench_allocator_core`` reporting it beside the round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from load_tests.harness import drop_postgres
from load_tests.redis_server_time import ScriptServerTimes
from tests.conftest import _postgres_base_url

BUSY = "local x = 0 for i = 1, 3000000 do x = x + i end return x"


def _sha(client: redis.Redis, source: str) -> str:
    return str(client.script_load(source))


def test_each_scripts_calls_are_timed_apart_and_the_settings_put_back(
    redis_client: redis.Redis,
) -> None:
    before = {
        k: redis_client.config_get(k)[k] for k in ("slowlog-log-slower-than", "slowlog-max-len")
    }
    empty, busy = _sha(redis_client, "return 1"), _sha(redis_client, BUSY)
    redis_client.evalsha(empty, 0)  # before the timed part: discarded
    with ScriptServerTimes(redis_client) as server:
        redis_client.evalsha(empty, 0)
        server.discard()
        for _ in range(3):
            redis_client.evalsha(empty, 0)
            redis_client.evalsha(busy, 0)
        redis_client.set("not-a-script", 1)
        server.drain()
        redis_client.evalsha(empty, 0)  # drained on exit
    # (the log is the whole server's: other clients' scripts may be there too, under their SHA)
    assert len(server.micros[empty]) == 4 and len(server.micros[busy]) == 3
    # three million Lua additions against "return 1": the durations are the scripts' own
    assert min(server.micros[busy]) > max(server.micros[empty])
    assert not server.overflowed
    after = {k: redis_client.config_get(k)[k] for k in before}
    assert after == before


def test_a_full_log_is_reported(redis_client: redis.Redis) -> None:
    empty = _sha(redis_client, "return 1")
    with ScriptServerTimes(redis_client, max_len=8) as server:
        for _ in range(20):
            redis_client.evalsha(empty, 0)
    assert server.overflowed and len(server.micros[empty]) == 8


@pytest.mark.postgres
def test_the_allocator_benchmark_reports_redis_own_time_beside_the_round_trip(
    redis_url: str, postgres_schema_url: str
) -> None:
    base = _postgres_base_url()  # the benchmark's parity check needs PostgreSQL
    assert base is not None  # the fixture has failed or skipped otherwise
    parts = urlsplit(base.replace("+psycopg", ""))
    pg_url = urlunsplit(parts._replace(path="/bench_alloc_cli_test"))
    claims = 96
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "load_tests.bench_allocator_core",
                *("--sizes", "400", "--claims", str(claims), "--pg-max-size", "0"),
                *("--throughput-size", "0", "--redis-url", redis_url, "--pg-url", pg_url),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        claim = json.loads(done.stdout)["sizes"]["400"]["redis"]["claim"]
        inside = claim["inside_redis"]
        assert inside["claim_script"]["n"] == claim["n"] == claims  # the timed claims, no more
        assert inside["empty_script"]["n"] == claim["empty_script_call"]["n"] == claims
        assert not inside["slow_log_overflowed"]
        # each call's own time is part of its round trip, so every quantile is too
        for q in ("p50_ms", "p99_ms", "max_ms"):
            assert inside["claim_script"][q] <= claim[q]
            assert inside["empty_script"][q] <= claim["empty_script_call"][q]
    finally:
        drop_postgres(base, "bench_alloc_cli_test")
