"""`POST /api/v1/worklist/next` over real HTTP: open-loop latency and the most claims a second.

    python -m load_tests.bench_http [--rate 300] [--pair-rate 300] [--reporters 200] [--seconds 30]

Open loop: pull k is sent at t0 + k/rate whatever happened to earlier pulls, and its latency is
measured from that scheduled time (so a stalled server cannot hide its queueing). Two open-loop
runs per server: ``pulls`` sends pulls only (DESIGN.md section 5: 300 pulls a second), then
``pulls_and_completions`` also completes each claimed case, as a reporter would, so the server
answers two requests per pull. Then a closed loop finds the most claims a second (each
completed). The load generator runs in its own process. Afterwards the database is checked for
double assignments and scope violations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

from connectors.simulator import generate_studies
from load_tests.harness import (
    fresh_postgres,
    percentile,
    seed_sites,
    serve_subprocess,
    vacuum_analyze,
)
from worklist.demo import seed


async def _open_loop(
    url: str, tokens: list[str], rate: float, seconds: float, complete: bool, warm_up: float = 0
) -> dict[str, Any]:
    """``warm_up`` seconds of pulls at the same rate come first, on the same schedule: the
    reporters' connections open and their tokens are checked for the first time. Those pulls
    are reported on their own (``warm_up``), not in the steady-state figures."""
    import aiohttp

    latencies: list[float] = []
    warm_latencies: list[float] = []
    warm_pulls = int(rate * warm_up)
    by_second: dict[int, list[float]] = {}
    statuses: dict[int, int] = {}
    # The generator's own health, so its stalls are never read as the server's: how late each
    # pull left after its scheduled time, and how long new connections took to open.
    send_lags: list[float] = []
    connects: list[float] = []
    trace = aiohttp.TraceConfig()

    async def sent(_s: Any, ctx: Any, _p: Any) -> None:
        # only pulls are scheduled; the completions that follow them carry no context
        if ctx.trace_request_ctx:
            send_lags.append(time.perf_counter() - ctx.trace_request_ctx["scheduled"])

    async def connecting(_s: Any, ctx: Any, _p: Any) -> None:
        ctx.connect_started = time.perf_counter()

    async def connected(_s: Any, ctx: Any, _p: Any) -> None:
        connects.append(time.perf_counter() - ctx.connect_started)

    trace.on_request_start.append(sent)
    trace.on_connection_create_start.append(connecting)
    trace.on_connection_create_end.append(connected)
    connector = aiohttp.TCPConnector(limit=400)
    async with aiohttp.ClientSession(url, connector=connector, trace_configs=[trace]) as client:

        async def pull(k: int, scheduled: float) -> None:
            headers = {"Authorization": f"Bearer {tokens[k % len(tokens)]}"}
            async with client.post(
                "/api/v1/worklist/next",
                headers=headers,
                trace_request_ctx={"scheduled": scheduled},
            ) as response:
                body = await response.read()
                latency = time.perf_counter() - scheduled
                if k < warm_pulls:
                    warm_latencies.append(latency)
                else:
                    latencies.append(latency)
                    by_second.setdefault(int((k - warm_pulls) / rate), []).append(latency)
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            if complete and response.status == 200:
                assignment = json.loads(body)["assignment_id"]
                path = f"/api/v1/assignments/{assignment}/complete"
                async with client.post(path, headers=headers) as done:
                    await done.read()

        total = int(rate * seconds)
        start = time.perf_counter() + 0.2
        tasks = []
        for k in range(warm_pulls + total):
            scheduled = start + k / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(pull(k, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start - warm_up
    return {
        "offered_per_s": rate,
        "each_claim_completed": complete,
        "pulls": total,
        "achieved_per_s": round(total / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **_latency_ms(latencies),
        "slowest_seconds": _slowest_seconds(by_second),
        "warm_up": {
            "seconds": warm_up,
            "pulls": warm_pulls,
            **(_latency_ms(warm_latencies) if warm_latencies else {}),
            "over_20ms": sum(v > 0.020 for v in warm_latencies),
        },
        "generator": {
            "send_lag_p99_ms": round(percentile(sorted(send_lags), 0.99) * 1000, 2),
            "send_lag_max_ms": round(max(send_lags, default=0.0) * 1000, 2),
            "connections_opened": len(connects),
            "connect_max_ms": round(max(connects, default=0.0) * 1000, 2),
        },
    }


def _latency_ms(latencies: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of a non-empty list of latencies (seconds), in ms."""
    ordered = sorted(latencies)
    return {
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 0.90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _slowest_seconds(by_second: dict[int, list[float]], n: int = 5) -> list[dict[str, float]]:
    """The run's worst seconds by their slowest pull: where a tail comes from (one stall, or
    spread over the run)."""
    worst = sorted(by_second.items(), key=lambda kv: max(kv[1]), reverse=True)[:n]
    return [
        {
            "second": second,
            "max_ms": round(max(values) * 1000, 1),
            "over_20ms": sum(v > 0.020 for v in values),
        }
        for second, values in worst
    ]


async def _closed_loop(url: str, tokens: list[str], workers: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    claims = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=workers)) as client:

        async def worker(i: int) -> None:
            nonlocal claims
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            while time.perf_counter() < deadline:
                async with client.post("/api/v1/worklist/next", headers=headers) as response:
                    body = await response.read()
                if response.status == 200:
                    claims += 1
                    path = f"/api/v1/assignments/{json.loads(body)['assignment_id']}/complete"
                    async with client.post(path, headers=headers) as done:
                        await done.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(workers)))
        elapsed = time.perf_counter() - started
    return {"workers": workers, "claims": claims, "claims_per_s": round(claims / elapsed, 1)}


def _run_in_process(kind: str, *args: Any) -> dict[str, Any]:
    """Run a load loop in a separate process so the generator does not share our GIL."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_entry, (kind, *args))
        return result


def _entry(kind: str, *args: Any) -> dict[str, Any]:
    import uvloop

    loop = _open_loop if kind == "open" else _closed_loop
    return uvloop.run(loop(*args))  # type: ignore[arg-type, no-any-return]


def allowed(reporter: dict[str, Any], study: dict[str, Any]) -> bool:
    """Eligibility written out again, independently of the allocator, to audit its choices."""
    if study["site"] not in reporter["sites"]:
        return False
    if (
        study["requires_subspecialist"]
        and study["widening_stage"] == 0
        and study["subspecialty"] not in reporter["subspecialties"]
    ):
        return False
    if not reporter["scope"]:
        return reporter["group"] != "radiographer"
    for entry in reporter["scope"]:
        age = study["patient_age"]
        if entry["modalities"] and study["modality"] not in entry["modalities"]:
            continue
        if entry["body_parts"] and study["body_part"] not in entry["body_parts"]:
            continue
        if entry["exam_codes"] and study["exam_code"] not in entry["exam_codes"]:
            continue
        if entry["patient_sources"] and study["patient_source"] not in entry["patient_sources"]:
            continue
        if entry["min_age"] is not None and (age is None or age < entry["min_age"]):
            continue
        if entry["max_age"] is not None and (age is None or age > entry["max_age"]):
            continue
        return True
    return False


def audit(database_url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(database_url)
    with engine.connect() as conn:
        doubles = conn.execute(
            sqlalchemy.text(
                "SELECT count(*) FROM (SELECT study_id FROM assignment "
                "WHERE outcome IS NULL OR outcome = 'completed' "
                "GROUP BY study_id HAVING count(*) > 1) AS d"
            )
        ).scalar_one()
        reporters = {
            r["id"]: r for r in conn.execute(sqlalchemy.text("SELECT * FROM reporter")).mappings()
        }
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT a.reporter_id, s.* FROM assignment a JOIN study s ON s.id = a.study_id"
            )
        ).mappings()
        violations = checked = 0
        for row in rows:
            reporter = dict(reporters[row["reporter_id"]])
            for key in ("sites", "subspecialties", "scope"):
                if isinstance(reporter[key], str):
                    reporter[key] = json.loads(reporter[key])
            checked += 1
            violations += not allowed(reporter, dict(row))
    engine.dispose()
    return {
        "assignments_checked": checked,
        "double_assignments": doubles,
        "scope_violations": violations,
    }


PREDICTION_INTERVAL_S = 60.0  # the service's default WORKLIST_PREDICTION_INTERVAL_SECONDS


def wait_for_prediction_pass(
    admin: httpx.Client, since: datetime, limit_s: float = 600.0
) -> tuple[float, datetime]:
    """Wait until the sweeper has recorded a prediction and policy pass that started after
    ``since`` (it runs after that sweep's widening), polled through the API; returns the
    seconds waited and when that pass started."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        answer = admin.get("/api/v1/predictions/breaches", params={"limit": 1})
        computed = answer.json()["computed_at"] if answer.status_code == 200 else None
        if computed is not None and datetime.fromisoformat(computed) >= since:
            return round(time.perf_counter() - started, 1), datetime.fromisoformat(computed)
        time.sleep(0.5)
    raise TimeoutError(f"the sweeper recorded no prediction pass in {limit_s:.0f} s")


def sleep_until_a_pass_falls_mid_run(
    last_pass: datetime, seconds: float, settle: float, lead: float = 0.0
) -> None:
    """Start measuring so that the next per-minute prediction pass (60 s after the last) runs
    in the middle of the measured window: the figures include the steady state's periodic
    work, not a quiet stretch between passes."""
    next_pass = last_pass + timedelta(seconds=PREDICTION_INTERVAL_S)
    start = next_pass - timedelta(seconds=seconds / 2 + lead)
    time.sleep(max(settle, (start - datetime.now(UTC)).total_seconds()))


def server_histogram(metrics: str) -> dict[str, float]:
    """The service's own ``worklist_next_seconds`` as the share of pulls at or under each
    bucket: time inside the handler, so a gap to the client's figures is queueing in front of
    it (a busy loop, the CPU shared with the load generator)."""
    buckets: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("worklist_next_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[le] = float(line.split()[-1])
    total = buckets.get("+Inf", 0.0)
    shares = {f"share_le_{le}s": round(n / total, 4) for le, n in buckets.items() if total}
    return {**shares, "count": total}


def run(
    database_url: str | None,
    redis_url: str,
    workers: int,
    rate: float,
    n_reporters: int,
    seconds: float,
    queued: int,
    max_workers: int,
    pair_rate: float,
    settle: float = 0.0,
    warm_up: float = 0.0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = database_url or f"sqlite:///{Path(tmp) / 'worklist.db'}"
        with serve_subprocess(Path(tmp), database_url, redis_url, workers) as service:
            sites = seed_sites(service.admin)
            team = seed.reporters(
                radiologists=n_reporters // 2,
                registrars=n_reporters // 10,
                radiographers=n_reporters - n_reporters // 2 - n_reporters // 10,
            )
            for rid, body in team.items():
                service.admin.put(f"/api/v1/reporters/{rid}", json=body).raise_for_status()
            feed = service.token("feed")
            studies = generate_studies(queued, sites, datetime.now(UTC) - timedelta(days=2), seed=5)
            for i in range(0, len(studies), 500):
                service.admin.post(
                    "/api/v1/studies",
                    json=studies[i : i + 500],
                    headers={"Authorization": f"Bearer {feed}"},
                ).raise_for_status()
            loaded_at = datetime.now(UTC)
            if database_url:
                vacuum_analyze(database_url)  # planner statistics for the loaded backlog
            tokens = []
            for rid in team:
                token = service.token("reporter", rid)
                httpx.post(
                    f"{service.url}/api/v1/sessions",
                    json={"kind": "core"},
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
                tokens.append(token)
            # Measure the steady state: the backlog was just loaded two days overdue, and the
            # sweeper's first pass widens, predicts and recommends all of it (a one-off
            # catch-up, timed and reported); then ``settle`` more seconds.
            catch_up, last_pass = wait_for_prediction_pass(service.admin, loaded_at)
            sleep_until_a_pass_falls_mid_run(last_pass, seconds, settle, lead=warm_up)
            measured_from = datetime.now(UTC) + timedelta(seconds=warm_up)
            pulls = _run_in_process("open", service.url, tokens, rate, seconds, False, warm_up)
            pulls["measured_from"] = measured_from.isoformat()
            pulls["server_side"] = server_histogram(httpx.get(f"{service.url}/metrics").text)
            during = service.admin.get("/api/v1/predictions/breaches", params={"limit": 1}).json()[
                "last_pass"
            ]
            pulls["prediction_pass_during_run"] = (
                during if datetime.fromisoformat(during["computed_at"]) > measured_from else None
            )
            pairs = (
                _run_in_process("open", service.url, tokens, pair_rate, seconds, True, warm_up)
                if pair_rate
                else None
            )
            closed_loop = _run_in_process("closed", service.url, tokens, max_workers, 10.0)
        result = {
            "database": "postgresql" if database_url else "sqlite",
            "workers": workers,
            "reporters_on_duty": len(tokens),
            "queued_at_start": queued,
            "sweeper_catch_up_seconds": catch_up,
            "settle_seconds_after_catch_up": settle,
            "open_loop": pulls,
            "open_loop_with_completions": pairs,
            "max_throughput": closed_loop,
            "audit": audit(db_url),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--reporters", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--queued", type=int, default=40_000)
    parser.add_argument("--max-workers", type=int, default=32)
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server for the PostgreSQL run (a fresh database bench_http is made there)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--workers", type=int, default=2, help="API worker processes (PostgreSQL)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--pair-rate",
        type=float,
        default=300,
        help="pulls a second for the run that also completes each case (0 skips it)",
    )
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument(
        "--settle",
        type=float,
        default=5,
        help="least seconds to wait after the sweeper's first pass over the loaded backlog "
        "(measuring starts so that the next pass falls mid-run)",
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=3,
        help="seconds of pulls before the measured ones, at the same rate, reported on their "
        "own (reporters' connections opening, tokens checked for the first time)",
    )
    args = parser.parse_args()
    print(json.dumps({"http_worklist_next": measure(args)}, indent=2))


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """SQLite with one worker (the default install), PostgreSQL with N workers (production)."""
    import redis

    runs: list[tuple[str | None, int]] = [] if args.skip_sqlite else [(None, args.sqlite_workers)]
    if not args.skip_postgres:
        runs.append((fresh_postgres(args.pg_url, "bench_http"), args.workers))
    results = []
    for database_url, workers in runs:
        redis.Redis.from_url(args.redis_url).flushdb()
        results.append(
            run(
                database_url,
                args.redis_url,
                workers,
                args.rate,
                args.reporters,
                args.seconds,
                args.queued,
                args.max_workers,
                args.pair_rate,
                args.settle,
                args.warm_up,
            )
        )
    return results


if __name__ == "__main__":
    main()
