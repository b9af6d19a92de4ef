"""Run one scenario under every policy and collect the figures."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.connection import EmbeddedRedis, connect
from allocator.ranking import RankingWeights
from worklist.simulation.demand import SimStudy
from worklist.simulation.engine import Knobs, Outcome, Simulation
from worklist.simulation.policies import BalancerPolicy, BaselinePolicy, Policy
from worklist.simulation.report import summary, urgency_rows
from worklist.simulation.roster import Member, Shift

POLICIES = ("balancer", "fifo-site", "quickest")
SIM_LEASE_MS = 6 * 3_600_000  # longer than any read: simulated reporters never lose a lease


@dataclass
class PolicyRun:
    name: str
    outcomes: dict[str, Outcome]
    seconds: float
    claims: int
    figures: dict[str, Any]


@contextmanager
def redis_client(url: str | None, scratch: Path) -> Iterator[Any]:
    """The given Redis (database flushed!) or an embedded redis-server in ``scratch``."""
    embedded = None if url else EmbeddedRedis(scratch)
    client = connect(url or embedded.url)  # type: ignore[union-attr]
    try:
        client.flushdb()
        yield client
    finally:
        client.flushdb()
        client.close()
        if embedded is not None:
            embedded.close()


def make_policy(name: str, client: Any, weights: RankingWeights) -> Policy:
    if name == "balancer":
        return BalancerPolicy(client, weights, SIM_LEASE_MS)
    return BaselinePolicy(name, weights)


def run_all(
    studies: Sequence[SimStudy],
    team: dict[str, Member],
    roster: Sequence[Shift],
    knobs: Knobs,
    start_ms: int,
    end_ms: int,
    policies: Sequence[str],
    client: Any,
    weights: RankingWeights = RankingWeights(),
) -> list[PolicyRun]:
    out = []
    for name in policies:
        client.flushdb()
        began = time.perf_counter()
        sim = Simulation(make_policy(name, client, weights), studies, team, roster, knobs)
        outcomes = sim.run(start_ms, end_ms)
        seconds = time.perf_counter() - began
        figures = {
            "urgency": urgency_rows(outcomes.values(), end_ms),
            "summary": summary(outcomes, end_ms),
        }
        out.append(PolicyRun(name, outcomes, seconds, sim.claims, figures))
    return out
