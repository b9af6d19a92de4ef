"""What the interpreter's switch interval costs the hot path when a thread computes beside it.

    python -m load_tests.bench_switch_interval [--seconds 6] [--rounds 3] [--intervals 5,0.5]

An API worker answers pulls on its event loop with blocking Redis and PostgreSQL round trips,
and gives up the GIL at each one. Dashboards, ingest batches and token lookups run in the
same process on thread-pool threads. When such a thread holds the GIL as a round trip
returns, the loop waits for the thread to let it go, and CPython lets it run up to the
switch interval first (``sys.setswitchinterval``, 5 ms by default): every round trip of
every queued pull can pay that wait (the "convoy effect").

This plays that in one process against a private Redis: the main thread makes "pulls" of
three blocking round trips each, one every 2 ms, while a second thread builds and encodes
JSON in bursts (50 ms on, 50 ms off, like a dashboard or ingest batch every so often). Rounds
alternate between the intervals so every setting sees the machine in the same mood. Prints
JSON: per interval, the pulls' latency (p50, p99, max) and how much work the thread got
done per second (what a shorter interval costs it), with the p99 ratio to the first interval.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from load_tests.private_redis import PrivateRedis

ROUND_TRIPS_PER_PULL = 3
PULL_EVERY_S = 0.002
BURST_S = 0.050


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _busy_thread(stop: threading.Event, done: list[int]) -> None:
    """JSON work in bursts, as a dashboard or an ingest batch on a thread-pool thread."""
    rows = [{"site": f"S{i % 15}", "n": i, "share": i / 7} for i in range(200)]
    while not stop.is_set():
        burst_ends = time.perf_counter() + BURST_S
        while time.perf_counter() < burst_ends:
            json.loads(json.dumps(rows))
            done[0] += 1
        stop.wait(BURST_S)


def one_round(client: redis.Redis, interval_ms: float, seconds: float) -> dict[str, Any]:
    """Pulls for ``seconds`` at the given switch interval, with the busy thread running."""
    sys.setswitchinterval(interval_ms / 1000)
    applied_ms = round(sys.getswitchinterval() * 1000, 3)
    stop, done = threading.Event(), [0]
    worker = threading.Thread(target=_busy_thread, args=(stop, done), daemon=True)
    worker.start()
    latencies: list[float] = []
    started = time.perf_counter()
    next_pull = started
    try:
        while time.perf_counter() - started < seconds:
            next_pull += PULL_EVERY_S
            began = time.perf_counter()
            for _ in range(ROUND_TRIPS_PER_PULL):
                client.get("bench:switch")
            latencies.append((time.perf_counter() - began) * 1000)
            pause = next_pull - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            else:
                next_pull = time.perf_counter()
    finally:
        stop.set()
        worker.join()
    elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "thread_work_per_s": done[0] / elapsed,
        "applied_ms": applied_ms,
    }


def run(seconds: float, rounds: int, intervals: list[float], redis_url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(redis_url)
    client.set("bench:switch", "x" * 64)
    results: dict[float, dict[str, list[float]]] = {
        i: {"latencies": [], "work": []} for i in intervals
    }
    default = sys.getswitchinterval()
    try:
        for r in range(rounds):
            for interval in intervals if r % 2 == 0 else list(reversed(intervals)):
                found = one_round(client, interval, seconds)
                results[interval]["latencies"] += found["latencies"]
                results[interval]["work"].append(found["thread_work_per_s"])
                progress = {"round": r + 1, "interval_ms": interval,
                            "applied_ms": found["applied_ms"]}  # fmt: skip
                print(json.dumps({"progress": progress}), file=sys.stderr)
    finally:
        sys.setswitchinterval(default)
    out: dict[str, Any] = {
        "round_trips_per_pull": ROUND_TRIPS_PER_PULL,
        "pull_every_ms": PULL_EVERY_S * 1000,
        "thread_bursts_ms": BURST_S * 1000,
        "intervals": {},
    }
    for interval, found in results.items():
        lat = sorted(found["latencies"])
        out["intervals"][str(interval)] = {
            "pulls": len(lat),
            "p50_ms": round(statistics.median(lat), 3),
            "p99_ms": round(_quantile(lat, 0.99), 3),
            "max_ms": round(lat[-1], 3),
            "thread_work_per_s": round(statistics.mean(found["work"]), 1),
        }
    first = out["intervals"][str(intervals[0])]
    for figures in out["intervals"].values():
        figures["p99_ratio_to_first"] = round(first["p99_ms"] / figures["p99_ms"], 2)
        figures["thread_work_share_of_first"] = round(
            figures["thread_work_per_s"] / first["thread_work_per_s"], 3
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per round and interval")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--intervals",
        default="5,0.5",
        help="switch intervals in ms, comma-separated; the first is the baseline",
    )
    parser.add_argument("--redis-url", help="default: a private redis-server")
    args = parser.parse_args(argv)
    intervals = [float(x) for x in args.intervals.split(",") if x.strip()]
    if not intervals or any(i <= 0 for i in intervals):
        parser.error("--intervals needs positive numbers of milliseconds")
    if args.redis_url:
        print(json.dumps(run(args.seconds, args.rounds, intervals, args.redis_url), indent=1))
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = PrivateRedis(Path(tmp))
        server.start()
        try:
            print(json.dumps(run(args.seconds, args.rounds, intervals, server.url), indent=1))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
