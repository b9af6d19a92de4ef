"""`worklist simulate`: replay demand against a roster under the balancer and two baselines."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_START = "2026-11-16"  # a Monday


def register(commands: Any) -> None:
    """Add the ``simulate`` sub-command to the ``worklist`` parser."""
    p = commands.add_parser(
        "simulate", help="what-if: replay a day or week of demand against a roster of sessions"
    )
    p.add_argument("--days", type=float, default=1.0, help="simulated period (1 = a day)")
    p.add_argument("--start", default=DEFAULT_START, help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--per-day", type=float, default=15_000, help="model demand: studies a day")
    p.add_argument("--studies-csv", type=Path, help="replay a CSV export instead of the model")
    p.add_argument("--roster-csv", type=Path, help="sessions CSV instead of the default roster")
    p.add_argument("--radiologists", type=int, default=120)
    p.add_argument("--registrars", type=int, default=30)
    p.add_argument("--radiographers", type=int, default=60)
    p.add_argument("--minutes-per-wu", type=float, default=3.0, help="reading time per work unit")
    p.add_argument(
        "--policies", default="balancer,fifo-site,quickest", help="comma-separated policies"
    )
    p.add_argument(
        "--redis-url",
        help="a Redis to run on (its database is FLUSHED); default: an embedded redis-server",
    )
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--png", type=Path, help="write TAT distributions as a PNG (needs matplotlib)")
    p.add_argument("--json", type=Path, help="write every figure as JSON")
    p.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from worklist.services import weights_from
    from worklist.settings import Settings
    from worklist.simulation import demand, roster
    from worklist.simulation.engine import Knobs
    from worklist.simulation.plot import write_png
    from worklist.simulation.report import side_by_side
    from worklist.simulation.run import POLICIES, redis_client, run_all

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = set(policies) - set(POLICIES)
    if unknown:
        raise ValueError(f"unknown policies {sorted(unknown)}; choose from {POLICIES}")
    began = time.perf_counter()
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    team = roster.default_team(args.radiologists, args.registrars, args.radiographers)
    shifts = roster.load_roster(args.roster_csv, team) if args.roster_csv else None
    shifts = shifts or roster.default_roster(team)
    if args.studies_csv:
        studies = demand.from_csv(args.studies_csv)
        if studies:
            first = datetime.fromtimestamp(studies[0].queued.acquired_ms / 1000, UTC)
            start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        studies = demand.from_model(roster.SITES, start, args.days, args.per_day, args.seed)
    end = start + timedelta(days=args.days)
    prepared = time.perf_counter() - began
    knobs = Knobs(minutes_per_work_unit=args.minutes_per_wu, seed=args.seed)
    # the balancer ranks with the product's settings (WORKLIST_* variables), as a deployment would
    weights = weights_from(Settings())
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    with (
        tempfile.TemporaryDirectory(prefix="worklist-sim-") as tmp,
        redis_client(args.redis_url, Path(tmp)) as client,
    ):
        runs = run_all(studies, team, shifts, knobs, start_ms, end_ms, policies, client, weights)
    print(
        f"simulated {args.days:g} day(s) from {start.date()}: {len(studies)} studies, "
        f"{len(team)} reporters, {len(shifts)} rostered shifts; demand built in {prepared:.1f} s"
    )
    print(
        f"balancer ranking: a reading allowance of {weights.reading_ms_per_work_unit / 60_000:g} "
        "min per work unit (WORKLIST_REPORTER_WORK_UNITS_PER_HOUR); reading takes "
        f"{args.minutes_per_wu:g} min per work unit on average (--minutes-per-wu)"
    )
    for run in runs:
        print(f"  {run.name:<10} {run.seconds:6.1f} s  ({run.claims} claims)")
    print()
    print(side_by_side({run.name: run.figures for run in runs}))
    if args.png:
        write_png(args.png, {run.name: run.outcomes for run in runs}, end_ms)
        print(f"\nTAT distributions: {args.png}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {run.name: {**run.figures, "seconds": round(run.seconds, 2)} for run in runs},
                indent=2,
            )
        )
    print(f"total {time.perf_counter() - began:.1f} s")
    return 0
