"""Claim latency inside the allocator (Python call -> Redis -> back) at 1k, 100k and 1M queued
studies with 300 reporters on duty, side by side with a PostgreSQL SELECT ... FOR UPDATE
SKIP LOCKED allocator over the same data, eligibility and ranking; then throughput with many
claimers for both. Prints one JSON document.

    .venv/bin/python load_tests/bench_allocator_core.py \\
        --sizes 1000,100000,1000000 --claims 5000 \\
        --redis-url redis://127.0.0.1:6379/10 --pg-url postgresql://postgres@127.0.0.1:5432/bench_alloc

The workload follows DESIGN.md section 8: ~15 sites, 300 reporters (consultants with
subspecialties, registrars, reporting radiographers with individual scopes), about half plain
film, a quarter ultrasound, then CT, MR and a little nuclear medicine, spread over a two-week
backlog (so many studies are already widened). Each timed claim is followed (untimed) by
completing the study; completed work is replaced by new arrivals so the queue stays at size.
Beside each Redis claim's round trip it gives an empty script's (the machine's floor), how many
bucket heads the claim walked, and Redis's own execution time of both scripts from its slow
log (``inside_redis``; ``load_tests/redis_server_time.py``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from allocator.connection import connect
from allocator.engine import Allocator
from allocator.ranking import RankingWeights, stage_at
from allocator.scripts import script_sha
from allocator.types import HOT_URGENCIES as HOT
from allocator.types import QueuedStudy, ReporterProfile, ScopeEntry
from load_tests.pg_skip_locked import PgAllocator, ensure_database
from load_tests.redis_server_time import ScriptServerTimes

# -- the workload ---------------------------------------------------------------------------

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
NOW = 1_790_000_000_000
SITES = [f"S{i:02d}" for i in range(1, 16)]
APPENDICULAR = ["HAND", "WRIST", "ELBOW", "SHOULDER", "FOOT", "ANKLE", "KNEE", "HIP"]
AXIAL = ["CSPINE", "TSPINE", "LSPINE", "PELVIS"]
SUBSPECIALTIES = ["neuro", "msk", "chest", "abdo", "uro", "breast", "paeds", "cardiac", "headneck"]

# (modality, body part, work units, subspecialty) by share of demand
_EXAMS: list[tuple[float, str, str, float, str | None]] = [
    (0.20, "DX", "CHEST", 1.0, "chest"),
    (0.17, "CR", "APP", 1.0, "msk"),
    (0.07, "CR", "AXIAL", 1.0, "msk"),
    (0.04, "DX", "ABDOMEN", 1.0, "abdo"),
    (0.02, "MG", "BREAST", 1.0, "breast"),
    (0.25, "US", "ABDOMEN", 1.5, "abdo"),
    (0.05, "CT", "HEAD", 3.0, "neuro"),
    (0.03, "CT", "CHEST", 4.0, "chest"),
    (0.04, "CT", "ABDOMEN", 4.0, "abdo"),
    (0.02, "CT", "CAP", 6.0, "abdo"),
    (0.01, "CT", "COLON", 4.0, "abdo"),
    (0.03, "MR", "HEAD", 5.0, "neuro"),
    (0.02, "MR", "LSPINE", 5.0, "neuro"),
    (0.015, "MR", "KNEE", 4.0, "msk"),
    (0.01, "MR", "PROSTATE", 7.0, "uro"),
    (0.005, "MR", "HEART", 7.0, "cardiac"),
    (0.01, "NM", "BONE", 8.0, None),
]
_CUM = []
_acc = 0.0
for _row in _EXAMS:
    _acc += _row[0]
    _CUM.append((_acc, _row))


def _e(**kw: object) -> ScopeEntry:
    return ScopeEntry(**{k: frozenset(v) if isinstance(v, list) else v for k, v in kw.items()})  # type: ignore[arg-type]


RADIOGRAPHER_SCOPES: list[ScopeEntry] = [
    _e(
        modalities=["CR", "DX"],
        body_parts=APPENDICULAR,
        min_age=16,
        patient_sources=["ed", "gp", "outpatient"],
    ),
    _e(
        modalities=["CR", "DX"],
        body_parts=["CHEST"],
        min_age=16,
        patient_sources=["gp", "outpatient"],
    ),
    _e(
        modalities=["CR", "DX"],
        body_parts=["CHEST"],
        min_age=16,
        patient_sources=["gp", "outpatient", "ed"],
    ),
    _e(modalities=["CR", "DX"], body_parts=AXIAL, min_age=16),
    _e(modalities=["CR", "DX"], body_parts=APPENDICULAR, max_age=15, patient_sources=["ed", "gp"]),
    _e(modalities=["CT"], body_parts=["HEAD"], min_age=16, patient_sources=["ed", "inpatient"]),
    _e(
        modalities=["MR"],
        body_parts=["KNEE", "LSPINE"],
        min_age=16,
        patient_sources=["gp", "outpatient"],
    ),
    _e(modalities=["MG"], body_parts=["BREAST"]),
    _e(modalities=["CT"], exam_codes=["CTCOL"]),
]
REGISTRAR_SCOPES: list[ScopeEntry] = [
    _e(modalities=["CR", "DX"]),
    _e(modalities=["CT"], patient_sources=["ed", "inpatient"]),
]


def reporters(n: int = 300, seed: int = 1) -> list[ReporterProfile]:
    """~55% consultants, ~15% registrars, ~30% reporting radiographers."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        home = rng.choice(SITES)
        roll = rng.random()
        if roll < 0.1:  # network passport
            sites = frozenset(SITES)
        else:
            sites = frozenset([home, *rng.sample(SITES, rng.randint(0, 3))])
        if i % 20 < 11:
            out.append(
                ReporterProfile(f"rad{i:03d}", "radiologist", home, sites,
                                frozenset(rng.sample(SUBSPECIALTIES, rng.randint(1, 2))))
            )  # fmt: skip
        elif i % 20 < 14:
            out.append(
                ReporterProfile(f"reg{i:03d}", "registrar", home, sites, frozenset(),
                                tuple(REGISTRAR_SCOPES))
            )  # fmt: skip
        else:
            scope = [RADIOGRAPHER_SCOPES[rng.choice([0, 0, 1, 2, 3])]]
            scope += rng.sample(RADIOGRAPHER_SCOPES, rng.randint(0, 2))
            out.append(
                ReporterProfile(f"rg{i:03d}", "radiographer", home, sites, frozenset(),
                                tuple(dict.fromkeys(scope)))
            )  # fmt: skip
    return out


@dataclass
class StudyMaker:
    """Makes studies one at a time; ids are unique across calls."""

    seed: int = 7
    weights: RankingWeights = field(default_factory=RankingWeights)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.n = 0
        self.patient = "P0"

    def _patient(self) -> str:
        """About one study in seven shares its patient with the previous one."""
        if self.rng.random() >= 0.15:
            self.patient = f"P{self.seed}.{self.n}"
        return self.patient

    def make(self, now: int = NOW, backlog_ms: int = 14 * DAY) -> QueuedStudy:
        rng = self.rng
        self.n += 1
        x = rng.random() * _acc
        _, (_, modality, part, wu, sub) = next(c for c in _CUM if x <= c[0])
        if part == "APP":
            part = rng.choice(APPENDICULAR)
        elif part == "AXIAL":
            part = rng.choice(AXIAL)
        source = rng.choices(["ed", "inpatient", "gp", "outpatient"], [30, 20, 25, 25])[0]
        age = rng.randint(0, 15) if rng.random() < 0.1 else rng.randint(16, 95)
        if age < 16:
            sub = "paeds"
        hot = source == "ed" and modality == "CT" and rng.random() < 0.2
        urgency = (
            rng.choice(["stroke", "trauma"]) if hot
            else "urgent" if source == "ed"
            else rng.choice(["urgent", "routine"]) if source == "inpatient"
            else "cancer" if rng.random() < 0.05
            else "routine"
        )  # fmt: skip
        tat = {
            "stroke": 30 * MIN, "trauma": HOUR, "cancer": 72 * HOUR,
            "urgent": HOUR if source == "ed" else 4 * HOUR,
            "routine": 24 * HOUR if source == "inpatient" else 7 * DAY,
        }[urgency]  # fmt: skip
        acquired = now - int(rng.random() * (backlog_ms if not hot else HOUR // 2))
        due = acquired + tat
        requires = modality in ("CT", "MR") and rng.random() < 0.15
        return QueuedStudy(
            study_id=f"1.2.826.0.1.{self.seed}.{self.n}",
            site=rng.choice(SITES),
            modality=modality,
            body_part=part,
            exam_code="CTCOL" if part == "COLON" else None,
            patient_age=age,
            patient_source=source,
            urgency=urgency,
            subspecialty=sub,
            requires_subspecialist=requires,
            work_units=wu,
            acquired_ms=acquired,
            due_ms=due,
            patient_key=self._patient(),
            widening_stage=stage_at(acquired, due, 0, now, self.weights),
        )


# -- measuring --------------------------------------------------------------------------------
LEASE_MS = 30 * MIN
NETWORK = "bench"
REFILL_EVERY = 250


def _pct(samples: Sequence[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def _summary(lat_s: Sequence[float]) -> dict[str, float]:
    ms = [x * 1e3 for x in lat_s]
    return {
        "n": len(ms),
        "p50_ms": round(_pct(ms, 0.50), 4),
        "p99_ms": round(_pct(ms, 0.99), 4),
        "p999_ms": round(_pct(ms, 0.999), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
        "max_ms": round(max(ms), 4),
    }


@dataclass
class Backend:
    """The few operations the measuring loop needs, for Redis and PostgreSQL alike."""

    name: str
    claim: Callable[[str, int], str | None]
    complete: Callable[[str, str, int], bool]
    add: Callable[[Sequence[QueuedStudy], int], None]
    # Redis only: how many bucket heads the last claim's script walked (reason.heads_scanned)
    last_walk: Callable[[], int | None] = lambda: None
    # Redis only: one call of an empty script, timed beside each claim as the machine's floor
    empty_call: Callable[[], None] | None = None


EMPTY_SCRIPT = "return 1"
EMPTY_SCRIPT_SHA = hashlib.sha1(EMPTY_SCRIPT.encode(), usedforsecurity=False).hexdigest()


def _redis_backend(alloc: Allocator) -> Backend:
    walked: list[int | None] = [None]
    empty_script = alloc._r.script_load(EMPTY_SCRIPT)

    def claim(rid: str, now: int) -> str | None:
        c = alloc.claim(rid, now, LEASE_MS)
        walked[0] = None if c is None else int(c.reason.get("heads_scanned", 0))
        return None if c is None else c.study_id

    def add(studies: Sequence[QueuedStudy], now: int) -> None:
        alloc.enqueue(studies, now)

    return Backend(
        "redis",
        claim,
        alloc.complete,
        add,
        lambda: walked[0],
        lambda: alloc._r.evalsha(empty_script, 0) and None,
    )


LONG_WALK = 32  # heads: most claims stop within the first chunks (4 + 8 + 16 + ...)


def walk_summary(
    lat_s: Sequence[float], walks: Sequence[int | None], who: Sequence[str]
) -> dict[str, Any]:
    """What the slow claims have in common: how many bucket heads each one walked.

    The claim script's work grows with the heads it walks before no later head can win, not
    with the queue's length; this splits the latency by that walk, so a p99 over target says
    whether long walks (and whose) or something outside the script made it."""
    pairs = [(x * 1e3, w) for x, w in zip(lat_s, walks, strict=True) if w is not None]
    if not pairs:
        return {}
    kinds = [rid.rstrip("0123456789") for rid, w in zip(who, walks, strict=True) if w is not None]
    long_by_kind = {
        kind: sum(1 for k, (_, w) in zip(kinds, pairs, strict=True) if k == kind and w > LONG_WALK)
        for kind in sorted(set(kinds))
    }
    slowest = sorted(pairs)[-max(1, len(pairs) // 100) :]
    long = [ms for ms, w in pairs if w > LONG_WALK]
    short = [ms for ms, w in pairs if w <= LONG_WALK]
    heads = [float(w) for _, w in pairs]
    return {
        "heads_scanned_p50": _pct(heads, 0.50),
        "heads_scanned_p99": _pct(heads, 0.99),
        "heads_scanned_median_of_slowest_1pct": statistics.median(w for _, w in slowest),
        f"share_walking_over_{LONG_WALK}": round(len(long) / len(pairs), 4),
        f"p99_ms_walking_over_{LONG_WALK}": round(_pct(long, 0.99), 4) if long else None,
        f"p99_ms_walking_up_to_{LONG_WALK}": round(_pct(short, 0.99), 4) if short else None,
        f"walks_over_{LONG_WALK}_by_reporter_kind": long_by_kind,
    }


def _pg_backend(pg: PgAllocator) -> Backend:
    def claim(rid: str, now: int) -> str | None:
        got = pg.claim(rid, now, LEASE_MS)
        return None if got is None else got[0]

    return Backend("postgres", claim, pg.complete, lambda studies, now: pg.add(studies))


def _single_claimer(
    b: Backend,
    rids: Sequence[str],
    maker: StudyMaker,
    claims: int,
    budget_s: float,
    server: ScriptServerTimes | None = None,
) -> dict[str, Any]:
    """One claimer, round-robin over the on-duty reporters; only the claim call is timed.
    ``server`` (Redis) also gets Redis's own time for the timed calls, drained untimed."""
    lat: list[float] = []
    walks: list[int | None] = []
    who: list[str] = []
    floor: list[float] = []
    empty = 0
    done = 0
    for i in range(len(rids)):  # warm-up: connections, prepared statements, script cache
        sid = b.claim(rids[i], NOW)
        if sid:
            b.complete(rids[i], sid, NOW)
            done += 1
    if server is not None:
        server.discard()  # the warm-up's calls
    start = time.perf_counter()
    for i in range(claims):
        rid = rids[i % len(rids)]
        now = NOW + i
        t0 = time.perf_counter()
        sid = b.claim(rid, now)
        lat.append(time.perf_counter() - t0)
        walks.append(b.last_walk())
        who.append(rid)
        if b.empty_call is not None:
            t0 = time.perf_counter()
            b.empty_call()
            floor.append(time.perf_counter() - t0)
        if sid is None:
            empty += 1
        else:
            b.complete(rid, sid, now)
            done += 1
        if done >= REFILL_EVERY:  # new arrivals replace completed work (untimed)
            b.add([maker.make(now, backlog_ms=HOUR) for _ in range(done)], now)
            done = 0
        if server is not None and i % 32 == 31:
            server.drain()
        if time.perf_counter() - start > budget_s and i >= 200:
            break
    out: dict[str, Any] = _summary(lat)
    walk = walk_summary(lat, walks, who)
    if walk:
        out["walk"] = walk
    if floor:
        # the same machine at the same moments, doing nothing: what no script change can remove
        out["empty_script_call"] = _summary(floor)
    out["empty_claims"] = empty
    out["stopped_early_by_time_budget"] = len(lat) < claims
    return out


def _throughput_worker(kind: str, url: str, rids: list[str], seconds: float, q: Any) -> None:
    """One of many claimers in its own process with its own connection."""
    if kind == "redis":
        b = _redis_backend(Allocator(connect(url), NETWORK))
    else:
        b = _pg_backend(PgAllocator(url))
    lat: list[float] = []
    n = 0
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        rid = rids[i % len(rids)]
        i += 1
        t0 = time.perf_counter()
        sid = b.claim(rid, NOW + i)
        lat.append(time.perf_counter() - t0)
        if sid is not None:
            n += 1
            b.complete(rid, sid, NOW + i)
    q.put((n, lat))


def _throughput(
    kind: str, url: str, rids: Sequence[str], workers: int, seconds: float
) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    q: Any = ctx.Queue()
    procs = [
        ctx.Process(target=_throughput_worker, args=(kind, url, list(rids[w::workers]), seconds, q))
        for w in range(workers)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    claims = sum(n for n, _ in results)
    lat = [x for _, lats in results for x in lats]
    return {
        "workers": workers,
        "seconds": seconds,
        "claims": claims,
        "claims_per_s": round(claims / seconds, 1),
        "wall_s": round(wall, 2),
        "latency_under_load": _summary(lat),
    }


def _studies(n: int, seed: int) -> list[QueuedStudy]:
    """The data set, moved out of the garbage collector's way: a million live objects would
    make every full collection in this process a pause that lands on some timed claim
    (an API process never holds the queue in Python)."""
    maker = StudyMaker(seed=seed)
    out = [maker.make() for _ in range(n)]
    gc.collect()
    gc.freeze()
    return out


def _redis_size(
    url: str,
    profiles: Sequence[ReporterProfile],
    studies: Sequence[QueuedStudy],
    args: argparse.Namespace,
) -> tuple[dict[str, Any], Allocator]:
    client = connect(url)
    alloc = Allocator(client, NETWORK)
    alloc.reset()
    for p in profiles:
        alloc.upsert_reporter(p)
    for p in profiles:
        alloc.start_session(p.reporter_id, "core", NOW)
    t0 = time.perf_counter()
    for i in range(0, len(studies), 2000):
        alloc.enqueue(studies[i : i + 2000], NOW)
    load_s = time.perf_counter() - t0
    k = alloc._k
    info = {
        "load_s": round(load_s, 1),
        "ingest_per_s": round(len(studies) / load_s),
        "waiting": alloc.waiting_count(),
        "buckets": client.hlen(k.buckets),
        "non_empty_buckets": client.zcard(k.heads("*")),
        # a plan's own fields ('\trg', '\tlists', '\tmb') start with a tab; the rest are buckets
        "max_plan_buckets": max(
            sum(1 for f in client.hkeys(k.plan(p.reporter_id)) if f[:1] not in (b"\t", "\t"))
            for p in profiles
        ),
        "redis_used_memory": client.info("memory")["used_memory_human"],
    }
    rids = [p.reporter_id for p in profiles]
    maker = StudyMaker(seed=1000 + len(studies))
    backend = _redis_backend(alloc)
    with ScriptServerTimes(client) as server:
        info["claim"] = _single_claimer(backend, rids, maker, args.claims, 120.0, server)
    info["claim"]["inside_redis"] = {
        "claim_script": _micros_summary(server.micros[script_sha("claim")]),
        "empty_script": _micros_summary(server.micros[EMPTY_SCRIPT_SHA]),
        "slow_log_overflowed": server.overflowed,
    }
    return info, alloc


def _micros_summary(micros: Sequence[int]) -> dict[str, float]:
    """Redis's own execution time (its slow log), as ``_summary`` gives the round trip."""
    return _summary([m / 1e6 for m in micros]) if micros else {"n": 0}


def _pg_size(
    url: str,
    profiles: Sequence[ReporterProfile],
    studies: Sequence[QueuedStudy],
    args: argparse.Namespace,
) -> dict[str, Any]:
    pg = PgAllocator(url)
    t0 = time.perf_counter()
    pg.load(profiles, studies)
    for p in profiles:
        pg.start_session(p.reporter_id)
    pg.analyze()
    info: dict[str, Any] = {"load_s": round(time.perf_counter() - t0, 1), "waiting": pg.waiting()}
    rids = [p.reporter_id for p in profiles]
    maker = StudyMaker(seed=1000 + len(studies))
    info["claim"] = _single_claimer(_pg_backend(pg), rids, maker, args.claims, args.pg_budget)
    pg.close()
    return info


def _parity(redis_url: str, pg_url: str, profiles: Sequence[ReporterProfile]) -> dict[str, Any]:
    """Same data, same claim sequence: do both allocators hand out the same studies?
    (No patient keys or hot studies here: grouping and push are Redis-only features.)"""
    maker = StudyMaker(seed=99)
    studies = [
        replace(s, patient_key=None, urgency="urgent" if s.urgency in HOT else s.urgency)
        for s in (maker.make() for _ in range(2000))
    ]  # fmt: skip
    alloc = Allocator(connect(redis_url), NETWORK)
    alloc.reset()
    for p in profiles:
        alloc.upsert_reporter(p)
        alloc.start_session(p.reporter_id, "core", NOW)
    alloc.enqueue(studies, NOW)
    pg = PgAllocator(pg_url)
    pg.load(profiles, studies)
    for p in profiles:
        pg.start_session(p.reporter_id)
    pg.analyze()
    rng = random.Random(5)
    same = differ = 0
    examples: list[Any] = []
    for i in range(600):
        rid = rng.choice(profiles).reporter_id
        c = alloc.claim(rid, NOW + i, LEASE_MS)
        g = pg.claim(rid, NOW + i, LEASE_MS)
        a, b = (c.study_id if c else None), (g[0] if g else None)
        if a == b:
            same += 1
        else:
            differ += 1
            if len(examples) < 3:
                examples.append({"reporter": rid, "redis": a, "postgres": b})
            break
    pg.close()
    alloc.reset()
    return {"claims_compared": same + differ, "identical": same, "first_differences": examples}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--claims", type=int, default=5000)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_alloc")
    ap.add_argument("--pg-budget", type=float, default=30.0, help="seconds of PG claims per size")
    ap.add_argument("--pg-max-size", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--throughput-size", type=int, default=100_000)
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]

    parts = urlsplit(args.pg_url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/"))
    profiles = reporters(300)
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "workload": {
            "reporters_on_duty": len(profiles),
            "sites": len({s for p in profiles for s in p.sites}),
            "by_group": {
                g: sum(p.group == g for p in profiles)
                for g in ("radiologist", "registrar", "radiographer")
            },
            "distinct_scope_entries": len({e for p in profiles for e in p.scope}),
            "claims_per_size": args.claims,
        },
        "parity": _parity(args.redis_url, args.pg_url, profiles),
        "sizes": {},
    }
    for n in sizes:
        studies = _studies(n, seed=n)
        row: dict[str, Any] = {}
        row["redis"], alloc = _redis_size(args.redis_url, profiles, studies, args)
        if n == args.throughput_size:
            row["redis_throughput"] = _throughput(
                "redis",
                args.redis_url,
                [p.reporter_id for p in profiles],
                args.workers,
                args.seconds,
            )
        alloc.reset()
        if n <= args.pg_max_size:
            row["postgres"] = _pg_size(args.pg_url, profiles, studies, args)
            if n == args.throughput_size:
                row["postgres_throughput"] = _throughput(
                    "pg", args.pg_url, [p.reporter_id for p in profiles], args.workers, args.seconds
                )
            row["pg_p99_over_redis_p99"] = round(
                row["postgres"]["claim"]["p99_ms"] / row["redis"]["claim"]["p99_ms"], 1
            )
        result["sizes"][str(n)] = row
        del studies
        gc.unfreeze()
        gc.collect()
        print(json.dumps({"progress": n, **row}), file=sys.stderr, flush=True)
    keys = [str(n) for n in sizes]
    if len(keys) >= 2:
        lo, hi = result["sizes"][keys[0]], result["sizes"][keys[-1]]
        result["redis_p99_growth"] = {
            "from": int(keys[0]), "to": int(keys[-1]),
            "ratio": round(hi["redis"]["claim"]["p99_ms"] / lo["redis"]["claim"]["p99_ms"], 2),
        }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
