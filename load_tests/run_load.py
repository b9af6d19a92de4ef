"""`make load`: a bounded Locust run against the real service, failing when a threshold is missed.

    python -m load_tests.run_load [--seconds 90] [--workers 2] [--postgres URL] [--profile F]

Starts a private redis-server and `worklist serve --workers N` (SQLite by default, as the
service's defaults), seeds the demo network with REPORTERS reporters and a backlog, runs the
Locust scenarios headless on loopback, prints the table and checks ``load_tests.thresholds``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from connectors.simulator import generate_studies
from load_tests import thresholds as t
from load_tests.bench_http import audit
from load_tests.cpu import CpuTimeline, core_speed, reading
from load_tests.disk import FsyncProbe, summary_line
from load_tests.harness import ADMIN, Running, autovacuum_setting, fresh_postgres, vacuum_analyze
from load_tests.private_redis import PrivateRedis
from load_tests.profile_summary import summarise
from load_tests.scenarios import timeline
from worklist.demo import seed
from worklist.embedded import free_port
from worklist.serving import SWEEPER_NICENESS

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serve(
    tmp: Path, database_url: str | None, redis_url: str, workers: int
) -> Iterator[tuple[Running, int]]:
    """`worklist serve --workers N` in its own process group; yields (service, its pid)."""
    port = free_port()
    env = {
        **os.environ,
        "WORKLIST_DATA_DIR": str(tmp),
        "WORKLIST_REDIS_URL": redis_url,
        "WORKLIST_ADMIN_TOKEN": ADMIN,
        "WORKLIST_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["WORKLIST_DATABASE_URL"] = database_url
    cmd = [sys.executable, "-m", "worklist.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*cmd, "--workers", str(workers)], env=env, start_new_session=True, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the service did not start")
            time.sleep(0.2)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=120
        ) as admin:
            yield Running(url=url, admin=admin), process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # requests stuck in a starved pool: do not linger
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def seed_service(service: Running, reporters: int, backlog: int) -> dict[str, Any]:
    """Sites, providers, ``reporters`` reporters, tokens and a backlog; the users' context."""
    for code, name in seed.SITES.items():
        service.admin.put(f"/api/v1/sites/{code}", json={"name": name, "network": seed.NETWORK})
    for pid, body in seed.PROVIDERS.items():
        service.admin.put(f"/api/v1/providers/{pid}", json=body).raise_for_status()
    team = seed.reporters(
        radiologists=reporters // 2,
        registrars=reporters // 10,
        radiographers=reporters - reporters // 2 - reporters // 10,
    )
    for rid, body in team.items():
        service.admin.put(f"/api/v1/reporters/{rid}", json=body).raise_for_status()
    ctx: dict[str, Any] = {role: service.token(role) for role in ("feed", "ops", "lead")}
    ctx["reporters"] = [service.token("reporter", rid) for rid in team]
    for token in ctx["reporters"]:  # reporters are in their sessions when the load starts
        service.admin.post(
            "/api/v1/sessions", json={"kind": "core"}, headers={"Authorization": f"Bearer {token}"}
        ).raise_for_status()
    ctx["sites"] = list(seed.SITES)
    # ~34 h of arrivals at 14,000 a day, ending about now: a day-and-a-half backlog
    studies = generate_studies(backlog, ctx["sites"], datetime.now(UTC) - timedelta(hours=36), 5)
    for i in range(0, len(studies), 1000):
        service.admin.post(
            "/api/v1/studies",
            json=studies[i : i + 1000],
            headers={"Authorization": f"Bearer {ctx['feed']}"},
        ).raise_for_status()
    return ctx


def run_locust(
    url: str, context_file: Path, csv_prefix: Path, seconds: int
) -> subprocess.Popen[bytes]:
    users = t.REPORTERS + t.FEED_USERS + t.OPS_USERS + t.LEAD_USERS
    env = {
        **os.environ,
        "WORKLIST_LOAD_CONTEXT": str(context_file),
        timeline.ENV: str(csv_prefix.with_name("timeline.json")),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "load_tests" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(t.SPAWN_PER_SECOND),
            "--run-time",
            f"{seconds}s",
            "--host",
            url,
            "--csv",
            str(csv_prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=ROOT,
    )  # Locust exits 1 on any failure; the thresholds decide, not its exit code


def _name(row: dict[str, str]) -> str:
    """Locust names requests by path; ours already carry the method ("POST /api/...")."""
    name, kind = row["Name"], row["Type"]
    return name if not kind or name.startswith(kind) else f"{kind} {name}"


def read_stats(csv_prefix: Path) -> list[dict[str, Any]]:
    with open(f"{csv_prefix}_stats.csv", newline="") as f:
        return [
            {
                "name": _name(row),
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "max_ms": float(row["Max Response Time"] or 0),
                "rps": round(float(row["Requests/s"] or 0), 1),
            }
            for row in csv.DictReader(f)
        ]


def server_next_p99_ms(metrics_text: str) -> float | None:
    """p99 of ``worklist_next_seconds`` from the histogram buckets (upper bucket bound)."""
    buckets = []
    for line in metrics_text.splitlines():
        if line.startswith("worklist_next_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    for bound, count in sorted(buckets):
        if count >= 0.99 * total:
            return bound * 1000
    return None


def check(stats: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(hard misses, soft misses) against ``load_tests.thresholds``."""
    by_name = {s["name"]: s for s in stats}
    hard, soft = [], []
    for name, limit in t.P99_MS.items():
        got = by_name.get(name)
        if got is None or got["requests"] == 0:
            hard.append(f"{name}: no requests made")
        elif got["p99_ms"] > limit:
            hard.append(f"{name}: p99 {got['p99_ms']:.0f} ms > {limit:.0f} ms")
    total = by_name.get("Aggregated", {"requests": 0, "failures": 0})
    rate = total["failures"] / total["requests"] if total["requests"] else 1.0
    if rate > t.MAX_ERROR_RATE:
        hard.append(f"error rate {rate:.4%} > {t.MAX_ERROR_RATE:.2%} ({total['failures']} failed)")
    for name, limit in t.SOFT_P99_MS.items():
        got = by_name.get(name)
        if got is not None and got["p99_ms"] > limit:
            soft.append(f"{name}: p99 {got['p99_ms']:.0f} ms > {limit:.0f} ms (soft)")
    return hard, soft


def worst_seconds_line(pulls_by_second: dict[str, Any] | None) -> str:
    """Where the slow pulls were: a herd at start-up reads differently from a stall mid-run."""
    if pulls_by_second is None:
        return "pulls by second: none recorded (Locust did not finish cleanly)"
    worst = timeline.worst_seconds(pulls_by_second)
    limit = pulls_by_second["limit_ms"]
    if not worst:
        return f"pulls over {limit:.0f} ms: none"
    seconds = ", ".join(f"s{second}: {slow} of {pulls}" for second, slow, pulls in worst)
    total = sum(pulls_by_second["slow"].values())
    return f"pulls over {limit:.0f} ms: {total}; worst seconds of the load: {seconds}"


def worst_seconds_cpu(pulls_by_second: dict[str, Any] | None, cpu: CpuTimeline) -> list[str]:
    """Who had the cores in each of the worst seconds: a pass of the sweeper, PostgreSQL or
    the load generator itself crowding the API workers out shows here."""
    if not pulls_by_second or pulls_by_second.get("started") is None:
        return []
    lines = []
    for second, _slow, _pulls in timeline.worst_seconds(pulls_by_second):
        start = pulls_by_second["started"] + second
        cores = cpu.cores_during(start, start + 1)
        if cores is not None:
            used = ", ".join(f"{name.split(' (')[0]} {v:.2f}" for name, v in cores.items())
            lines.append(f"  s{second} cores in use: {used}")
    return lines


def disk_stall_line(split: dict[str, int] | None, limit_ms: float) -> str | None:
    """How many slow pulls came while the disk stalled, and how the rest of the run fared:
    a commit waits for the flush, so a stalled disk holds up every pull then, whatever the
    code does (a diagnosis printed beside the thresholds, never instead of them)."""
    if split is None or not split["stalled_seconds"]:
        return None
    elsewhere = split["pulls_elsewhere"]
    share = split["slow_elsewhere"] / elsewhere if elsewhere else 0.0
    return (
        f"the disk stalled (an fsync over 100 ms) in or just before {split['stalled_seconds']} "
        f"seconds of the load: {split['slow_in_stalls']} of their {split['pulls_in_stalls']} "
        f"pulls were over {limit_ms:.0f} ms; in the other seconds {split['slow_elsewhere']} "
        f"of {elsewhere} ({share:.2%})"
    )


def table(stats: list[dict[str, Any]]) -> str:
    head = f"{'request':<44} {'reqs':>7} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6}"
    head += f" {'max':>7} {'req/s':>7}"
    lines = [head, "-" * len(head)]
    for s in stats:
        lines.append(
            f"{s['name'][:44]:<44} {s['requests']:>7} {s['failures']:>5} {s['p50_ms']:>6.0f} "
            f"{s['p95_ms']:>6.0f} {s['p99_ms']:>6.0f} {s['max_ms']:>7.0f} {s['rps']:>7}"
        )
    return "\n".join(lines) + "\n(times in ms, client side: Locust on the same 2 cores)"


def _local_postgres() -> str | None:
    url = os.environ.get("WORKLIST_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/"
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=2):
            return url
    except psycopg.Error:
        return None


def _niceness(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except OSError:  # gone
        return None


def cpu_groups(service_pid: int, locust_pid: int, redis_pid: int) -> dict[str, Any]:
    """Who uses the CPU: the sweeper, the API workers, Locust, Redis, PostgreSQL (shared)."""
    return {
        # the sweeper runs in a session of its own (serving._own_scheduling_group)
        "service's sweeper (niced)": lambda _n, pid, pgrp, ppid: (
            service_pid in (pgrp, ppid) and _niceness(pid) == SWEEPER_NICENESS
        ),
        "service (API workers)": lambda _n, _p, pgrp, _pp: pgrp == service_pid,
        "locust (load generator)": lambda _n, pid, _g, _pp: pid == locust_pid,
        "redis-server (private)": lambda _n, pid, _g, _pp: pid == redis_pid,
        "postgres (shared server)": lambda name, _p, _g, _pp: name == "postgres",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=t.RUN_SECONDS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--read-seconds-per-wu",
        type=float,
        default=t.READ_SECONDS_PER_WORK_UNIT,
        help="scaled reading time per work unit (lower = more pulls a second)",
    )
    parser.add_argument(
        "--postgres",
        default=_local_postgres(),
        help="PostgreSQL server URL (a fresh 'load_run' database is made on it); default: "
        "WORKLIST_TEST_POSTGRES_URL or 127.0.0.1:5432 when it answers",
    )
    parser.add_argument("--sqlite", action="store_true", help="the service's SQLite default")
    parser.add_argument("--profile", type=Path, help="py-spy the service during the run")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="worklist-load-") as tmp_name:
        tmp = Path(tmp_name)
        use_pg = args.postgres and not args.sqlite
        database_url = fresh_postgres(args.postgres, "load_run") if use_pg else None
        with (
            PrivateRedis(tmp / "redis") as redis_server,
            serve(tmp, database_url, redis_server.url, args.workers) as (service, pid),
        ):
            started = time.perf_counter()
            ctx = seed_service(service, t.REPORTERS, t.BACKLOG)
            if database_url:
                vacuum_analyze(database_url)  # planner statistics for the seeded backlog
            print(
                f"seeded {len(ctx['reporters'])} reporters and {t.BACKLOG} studies "
                f"in {time.perf_counter() - started:.0f} s; load for {args.seconds} s ..."
            )
            ctx["read_seconds_per_wu"] = args.read_seconds_per_wu
            time.sleep(t.SETTLE_SECONDS)  # the sweeper widens the backlog's overdue studies
            (tmp / "context.json").write_text(json.dumps(ctx))
            speed_before = core_speed()  # before py-spy's fixed recording window starts
            spy = None
            if args.profile:
                spy = subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(pid),
                        "--subprocesses",
                        "--rate",
                        "49",
                        "--duration",
                        str(max(10, args.seconds - 25)),
                        "--format",
                        "raw",
                        "--output",
                        str(args.profile),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            locust = run_locust(service.url, tmp / "context.json", tmp / "locust", args.seconds)
            groups = cpu_groups(pid, locust.pid, redis_server.pid)
            cpu_before, began = reading(groups), time.time()
            last, by_second = cpu_before, CpuTimeline()
            with FsyncProbe(tmp) as disk:
                while locust.poll() is None:  # sample while Locust lives: its CPU goes with it
                    last = reading(groups)
                    by_second.add(time.time(), last)
                    time.sleep(0.5)
            cpu = {k: v - cpu_before[k] for k, v in last.items()}
            wall = time.time() - began
            speed_after = core_speed()
            if spy is not None:
                spy.wait(timeout=120)
            metrics = httpx.get(f"{service.url}/metrics").text
        stats = read_stats(tmp / "locust")
        written = tmp / "timeline.json"  # missing if Locust died before quitting cleanly
        pulls_by_second = json.loads(written.read_text()) if written.exists() else None
        db_url = database_url or f"sqlite:///{tmp / 'worklist.db'}"
        checked = audit(db_url)
    hard, soft = check(stats)
    hard += [] if wall > 0 else ["no load ran"]
    hard += [f"{k}: {checked[k]}" for k in ("double_assignments", "scope_violations") if checked[k]]
    print(table(stats))
    p99_server = server_next_p99_ms(metrics)
    ingest = t.feed_studies_per_second()
    print(
        f"\n{t.REPORTERS} reporters, feeds offering {ingest:.2f} studies/s "
        f"({t.PEAK_MULTIPLIER}x a {t.NETWORK_STUDIES_PER_DAY}-a-day network's peak), "
        f"{args.workers} worker{'s' if args.workers != 1 else ''}, "
        f"{'PostgreSQL' if database_url else 'SQLite'}"
    )
    print(f"reading scaled to {args.read_seconds_per_wu:g} s per work unit")
    if database_url:
        print(f"PostgreSQL autovacuum: {autovacuum_setting(database_url)}")
    print(f"server-side worklist/next p99 (histogram bucket bound): {p99_server} ms")
    print(f"audit: {checked}")
    print(worst_seconds_line(pulls_by_second))
    for line in worst_seconds_cpu(pulls_by_second, by_second):
        print(line)
    disk_fsync = disk.summary()
    print(summary_line(disk_fsync))
    by_stalls = (
        timeline.split_by_stalls(pulls_by_second, disk.stalls()) if pulls_by_second else None
    )
    stall_line = disk_stall_line(by_stalls, t.P99_MS[t.NEXT_NAME])
    if stall_line:
        print(stall_line)
    print(
        "core speed (a fixed Python loop; the host can slow the cores without counting it as "
        "steal, so compare runs only at like speed): "
        f"{speed_before['one_core_ms']:.0f} ms on one core and "
        f"{speed_before['both_cores_ms']:.0f} ms on each of two at once before the load, "
        f"{speed_after['one_core_ms']:.0f} and {speed_after['both_cores_ms']:.0f} ms after"
    )
    print(f"\nCPU over the {wall:.0f} s run (2 cores = {2 * wall:.0f} CPU-seconds available):")
    for name, seconds in cpu.items():
        print(f"  {name:<34} {seconds:7.1f} s  ({seconds / wall:4.0%} of one core)")
    if args.profile:
        print("\nprofile of the service (share of samples, by function):")
        print(summarise(args.profile))
    for line in soft:
        print(f"SOFT MISS  {line}")
    for line in hard:
        print(f"MISS       {line}")
    print("thresholds: " + ("MET" if not hard else f"MISSED ({len(hard)})"))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "stats": stats,
                    "audit": checked,
                    "hard": hard,
                    "soft": soft,
                    "server_next_p99_ms": p99_server,
                    "pulls_by_second": pulls_by_second,
                    "disk_fsync": disk_fsync,
                    "pulls_by_disk_stalls": by_stalls,
                    "cpu_samples": by_second.samples,
                    "core_speed": {"before": speed_before, "after": speed_after},
                }
            )
        )
    return 1 if hard else 0


if __name__ == "__main__":
    sys.exit(main())
