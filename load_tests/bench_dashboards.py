"""Dashboard queries at a year of data: load N studies (5 million by default) into a PostgreSQL
database of its own with COPY, then time every dashboard query the service runs.

    .venv/bin/python load_tests/bench_dashboards.py [--studies 5000000] [--compare]

It creates (or reuses, with --reuse) the database ``bench_dash`` next to the one named by
WORKLIST_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), migrates it
with the project's Alembic migrations, loads a synthetic network (12 sites, 62 reporters,
two providers) whose mix follows DESIGN.md section 8, and prints one JSON document. With
--compare it first times the queries at revision 0001 (before the dashboard indexes), then
upgrades to 0002 and times them again. The queries are the functions the endpoints call.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from alembic import command
from sqlalchemy import Engine, create_engine

from dashboards import backlog, headroom, share, sourcing, turnaround
from dashboards.periods import month_starts, parse_period
from dashboards.reading import reading
from dashboards.snapshot import SnapshotParams, build
from worklist.db import alembic_config
from worklist.demo import seed
from worklist.policy import DEFAULT_TAT_MINUTES, TatPolicy

DB = "bench_dash"
TZ = "Europe/London"
MODALITIES = [("CR", 0.34), ("DX", 0.16), ("US", 0.25), ("CT", 0.15), ("MR", 0.09), ("NM", 0.01)]
PARTS = {
    "CR": ["CHEST", "HAND", "KNEE", "ANKLE", "WRIST", "ABDOMEN", "HIP", "LSPINE"],
    "DX": ["CHEST", "FOOT", "SHOULDER", "PELVIS", "ELBOW"],
    "US": ["ABDOMEN", "PELVIS", "NECK"],
    "CT": ["HEAD", "CHEST", "ABDOMEN", "CAP"],
    "MR": ["HEAD", "KNEE", "LSPINE", "PROSTATE"],
    "NM": ["BONE"],
}
UNITS = {"CR": 1.0, "DX": 1.0, "US": 1.5, "CT": 4.0, "MR": 5.0, "NM": 8.0}
SOURCES = [("ed", 0.3), ("inpatient", 0.2), ("outpatient", 0.25), ("gp", 0.25)]
COLUMNS = (
    "id, study_uid, accession, site, network, modality, body_part, description, patient_age, "
    "patient_source, urgency, urgency_origin, requires_subspecialist, radiographer_reportable, "
    "work_units, acquired_at, due_at, status, assignee, sourcing, widening_stage, "
    "outsourcing_recommended, reported_at, reported_by, created_at, updated_at"
)


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x <= 0:
            return value
    return table[-1][0]


def _urgency(rng: random.Random, source: str) -> str:
    x = rng.random()
    if source == "ed":
        return "stroke" if x < 0.02 else "trauma" if x < 0.07 else "urgent"
    if source == "inpatient":
        return "urgent" if x < 0.4 else "routine"
    return "cancer" if x < 0.06 else "routine"


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


class Network:
    """The reporters and providers the synthetic studies are reported by."""

    def __init__(self) -> None:
        team = seed.reporters()
        self.team = team
        self.radiographers = [r for r, b in team.items() if b["group"] == "radiographer"]
        self.radiologists = [r for r, b in team.items() if b["group"] == "radiologist"]
        self.registrars = [r for r, b in team.items() if b["group"] == "registrar"]
        self.sites = list(seed.SITES)
        # each site has its own radiographer share, so the lead page has something to show
        self.rg_share = {
            s: 0.2 + 0.35 * i / (len(self.sites) - 1) for i, s in enumerate(self.sites)
        }


def generate(n: int, now: datetime, rng: random.Random, net: Network) -> Iterator[tuple[str, str]]:
    """Yield (study COPY line, outsourced-event COPY line or '') for n studies over a year."""
    policy = TatPolicy(DEFAULT_TAT_MINUTES)
    start = now - timedelta(days=365)
    span = (now - start).total_seconds()
    for i in range(1, n + 1):
        acquired = start + timedelta(seconds=span * (i - 0.5) / n + rng.uniform(-30, 30))
        site = net.sites[i % len(net.sites)]
        modality = _pick(rng, MODALITIES)
        part = rng.choice(PARTS[modality])
        source = _pick(rng, SOURCES)
        urgency = _urgency(rng, source)
        target = policy.target_minutes(urgency, source)
        due = acquired + timedelta(minutes=target)
        tat = min(target * 3.0, math.exp(rng.gauss(math.log(max(10.0, target * 0.35)), 0.9)))
        reported = acquired + timedelta(minutes=tat)
        plain = modality in ("CR", "DX")
        reportable = plain and part != "LSPINE"
        sourcing_kind: str | None = (
            "outsourced"
            if rng.random() < 0.08
            else ("insourced" if rng.random() < 0.16 else "core")
        )
        event = ""
        reported_at: datetime | None
        reported_by: str | None
        if reported > now:
            status = "claimed" if rng.random() < 0.05 else "unreported"
            reported_at, reported_by, sourcing_kind = None, None, None
            assignee = rng.choice(net.radiologists) if status == "claimed" else None
        else:
            status, reported_at, assignee = "reported", reported, None
            if sourcing_kind == "outsourced":
                provider = "teleradco" if modality in ("CT", "MR", "CR", "DX") else "nightrad"
                reported_by = assignee = provider
                price = seed.PROVIDERS[provider]["price"].get(modality, 30.0)
                event = (
                    f"{i}\t{_ts(acquired + timedelta(minutes=tat / 3))}\toutsourced\tops\t"
                    + json.dumps({"provider": provider, "price": price})
                )
            elif reportable and rng.random() < net.rg_share[site]:
                reported_by = rng.choice(net.radiographers)
            elif plain and source in ("ed", "inpatient") and rng.random() < 0.3:
                reported_by = rng.choice(net.registrars)
            else:
                reported_by = rng.choice(net.radiologists)
        fields = [
            str(i),
            f"2.25.{i}",
            f"A{i}",
            site,
            seed.NETWORK,
            modality,
            part,
            f"{modality} {part.title()}",
            str(rng.randint(1, 95)),
            source,
            urgency,
            "derived",
            "f",
            "t" if reportable else "f",
            str(UNITS[modality]),
            _ts(acquired),
            _ts(due),
            status,
            assignee or "\\N",
            sourcing_kind or "\\N",
            "0",
            "f",
            _ts(reported_at) if reported_at else "\\N",
            reported_by or "\\N",
            _ts(acquired),
            _ts(reported_at or acquired),
        ]
        yield "\t".join(fields), event


def _admin_url() -> str:
    url = os.environ.get(
        "WORKLIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    return url.replace("postgresql+psycopg://", "postgresql://")


def _db_url(admin: str) -> str:
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{DB}"


def create_database(admin: str, reuse: bool) -> bool:
    """True when the database had to be (re)created and loaded."""
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone()
        if exists and reuse:
            return False
        if exists:
            conn.execute(f'DROP DATABASE "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    return True


def load(url: str, n: int, now: datetime) -> dict[str, Any]:
    """Reference data through SQL, studies and outsourcing events through COPY."""
    rng = random.Random(20261123)
    net = Network()
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO network (code, name, timezone) VALUES (%s, %s, %s)",
            (seed.NETWORK, "West Midlands", TZ),
        )
        for code, name in seed.SITES.items():
            conn.execute(
                "INSERT INTO site (code, name, network) VALUES (%s, %s, %s)",
                (code, name, seed.NETWORK),
            )
        for rid, body in net.team.items():
            conn.execute(
                'INSERT INTO reporter (id, name, "group", home_site, network, sites, '
                "subspecialties, scope, active, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true, now())",
                (rid, body["name"], body["group"], body["home_site"], seed.NETWORK,
                 json.dumps(body["sites"]), json.dumps(body["subspecialties"]),
                 json.dumps(body["scope"])),
            )  # fmt: skip
        events: list[str] = []
        with conn.cursor() as cur, cur.copy(f"COPY study ({COLUMNS}) FROM STDIN") as copy:
            buf = io.StringIO()
            for k, (line, event) in enumerate(generate(n, now, rng, net), 1):
                buf.write(line)
                buf.write("\n")
                if event:
                    events.append(event)
                if k % 50_000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
                    print(f"  {k:,} studies", file=sys.stderr, flush=True)
            copy.write(buf.getvalue())
        with (
            conn.cursor() as cur,
            cur.copy("COPY studyevent (study_id, at, kind, actor, detail) FROM STDIN") as copy,
        ):
            copy.write("\n".join(events) + "\n")
        conn.execute("SELECT setval('study_id_seq', (SELECT max(id) FROM study))")
        conn.commit()
    loaded = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"studies": n, "outsourced_events": len(events), "load_seconds": round(loaded, 1)}


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, Any]:
    fn()  # warm the cache once, as a dashboard in use is
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(runs), 1), "max_ms": round(max(runs), 1)}


def queries(engine: Engine, now: datetime) -> dict[str, Callable[[], Any]]:
    local = now.astimezone(ZoneInfo(TZ)).date()
    day = parse_period(local.isoformat(), local.isoformat(), TZ, now)
    month_start = (local.replace(day=1) - timedelta(days=1)).replace(day=1)
    month = parse_period(
        month_start.isoformat(), (local.replace(day=1) - timedelta(days=1)).isoformat(), TZ, now
    )
    year = parse_period((local - timedelta(days=364)).isoformat(), local.isoformat(), TZ, now)
    starts: list[date] = month_starts(12, TZ, now)

    def run(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        def call() -> Any:
            with reading(engine) as conn:
                return fn(conn, *args)

        return call

    return {
        "turnaround_day": run(turnaround.turnaround, day, now),
        "turnaround_month": run(turnaround.turnaround, month, now),
        "turnaround_month_one_site": run(turnaround.turnaround, month, now, "RXK"),
        "turnaround_year": run(turnaround.turnaround, year, now),
        "reporting_share_day": run(share.reporting_share, day),
        "reporting_share_month": run(share.reporting_share, month),
        "reporting_share_year": run(share.reporting_share, year),
        "reporting_share_monthly_12": run(share.reporting_share_monthly, starts, TZ),
        "sourcing_month": run(sourcing.sourcing, month),
        "sourcing_monthly_12": run(sourcing.sourcing_monthly, starts, TZ),
        "headroom_month": run(headroom.headroom, month),
        "backlog_rows": run(backlog.by_bucket, now, None),
        "ops_snapshot": lambda: build(engine, TZ, SnapshotParams()),
    }


def measure(engine: Engine, now: datetime, repeat: int) -> dict[str, Any]:
    out = {}
    for name, fn in queries(engine, now).items():
        out[name] = timed(fn, repeat)
        print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded bench_dash")
    parser.add_argument("--compare", action="store_true", help="also time at revision 0001")
    args = parser.parse_args(argv)

    admin = _admin_url()
    url = _db_url(admin)
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    now = datetime.now(UTC).replace(microsecond=0)
    fresh = create_database(admin, args.reuse)
    config = alembic_config(sa_url)
    result: dict[str, Any] = {"database": DB, "now": now.isoformat()}
    if fresh:
        command.upgrade(config, "0001")
        result["load"] = load(url, args.studies, now)
    engine = create_engine(sa_url)
    with engine.connect() as conn:
        result["rows"] = {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("study", "studyevent")
        }
        result["waiting"] = conn.exec_driver_sql(
            "SELECT count(*) FROM study WHERE status IN ('unreported', 'claimed')"
        ).scalar()
    if args.compare:
        command.downgrade(config, "0001")
        print("timing at 0001 (no dashboard indexes)", file=sys.stderr)
        result["without_indexes"] = measure(engine, now, args.repeat)
    started = time.perf_counter()
    command.upgrade(config, "0002")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE study")
    result["index_build_seconds"] = round(time.perf_counter() - started, 1)
    print("timing at 0002 (dashboard indexes)", file=sys.stderr)
    result["with_indexes"] = measure(engine, now, args.repeat)
    engine.dispose()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
