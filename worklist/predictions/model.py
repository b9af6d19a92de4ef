"""Breach prediction: a fluid queue approximation per eligibility class. Pure, no I/O.

Work is measured in work units (WU); time in seconds from "now". Each reporter brings
capacity at a rate (WU/hour) during their availability windows (on duty now, rostered later).
Studies with the same set of eligible reporters form an *eligibility class*; its pool's
capacity is the sum of its members' rates at each moment.

Studies are served in due order (the allocator's main ranking). The work *ahead* of a study
is the work of earlier-due studies that its pool would have to do: an earlier study of class
j uses pool j, and the share of it that falls on pool k is the part of pool j's capacity
that pool k also has, ``cap(j ∩ k) / cap(j)`` (capacities over the horizon). The study
starts once pool k's cumulative capacity from now covers the work ahead, and finishes one
reader's time later (its WU at the pool's mean rate per reporter). It is predicted to breach
when that finish is after its due time; with no capacity before the horizon it breaches only
if it is due inside the horizon (beyond it the model cannot tell, and says start unknown).

What it leaves out, on purpose: ranking bonuses and deferral (second-order next to due
order), cases already in hand, and the sampling of who actually pulls what.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Reporter:
    """A reporter's capacity: rate in WU/hour and availability windows (seconds from now)."""

    reporter_id: str
    rate_wu_per_hour: float
    windows: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Waiting:
    """A waiting study: seconds until due (negative when overdue), WU, eligible reporters."""

    key: Hashable
    due_s: float
    work_units: float
    eligible: frozenset[str]


@dataclass(frozen=True)
class Predicted:
    key: Hashable
    work_ahead: float
    eligible: int
    start_s: float | None
    finish_s: float | None
    breach: bool


class PoolCurve:
    """Cumulative capacity of a pool from 0 to the horizon, and its inverse."""

    def __init__(self, members: Sequence[Reporter], horizon_s: float) -> None:
        deltas: dict[float, float] = {}
        for r in members:
            rate = r.rate_wu_per_hour / 3600.0
            for a, b in r.windows:
                a, b = max(0.0, a), min(horizon_s, b)
                if b > a:
                    deltas[a] = deltas.get(a, 0.0) + rate
                    deltas[b] = deltas.get(b, 0.0) - rate
        self.times: list[float] = [0.0]
        self.cum: list[float] = [0.0]
        self.rates: list[float] = []
        rate, t, total = 0.0, 0.0, 0.0
        for at in sorted(deltas):
            total += rate * (at - t)
            if at > t:
                self.rates.append(rate)
                self.times.append(at)
                self.cum.append(total)
            rate += deltas[at]
            t = at
        self.total = total
        self.mean_rate = (
            sum(r.rate_wu_per_hour for r in members) / len(members) / 3600.0 if members else 0.0
        )

    def time_to(self, work: float) -> float | None:
        """Seconds from now until the pool has done ``work`` WU and can start more; None when
        that is not before the horizon."""
        if work <= 0:
            return self._first_capacity()
        if work >= self.total - 1e-9:
            return None
        # the segment with cum[i] <= work < cum[i + 1]: it has capacity (a gap adds none), so
        # work ending exactly where a session ends starts at the next session, not in the gap
        i = bisect.bisect_right(self.cum, work) - 1
        return self.times[i] + (work - self.cum[i]) / self.rates[i]

    def _first_capacity(self) -> float | None:
        for i, rate in enumerate(self.rates):
            if rate > 0:
                return self.times[i]
        return None


def predict(
    waiting: Sequence[Waiting], reporters: Sequence[Reporter], horizon_s: float
) -> list[Predicted]:
    """Predicted start, finish and breach for every waiting study (in due order)."""
    by_id = {r.reporter_id: r for r in reporters}
    known = frozenset(by_id)
    pools = sorted({w.eligible & known for w in waiting}, key=sorted)
    curves = {p: PoolCurve([by_id[i] for i in sorted(p)], horizon_s) for p in pools}
    share: dict[frozenset[str], list[tuple[frozenset[str], float]]] = {}
    member_total = {i: PoolCurve([by_id[i]], horizon_s).total for i in by_id}
    for j in pools:
        cap_j = curves[j].total
        share[j] = []
        if cap_j <= 0:
            continue
        for k in pools:
            both = sum(member_total[i] for i in j & k)
            if both > 0:
                share[j].append((k, both / cap_j))
    ahead = dict.fromkeys(pools, 0.0)
    out = []
    for w in sorted(waiting, key=lambda w: (w.due_s, str(w.key))):
        pool = w.eligible & known
        curve = curves[pool]
        work = ahead[pool]
        start = curve.time_to(work)
        finish = None
        if start is not None and curve.mean_rate > 0:
            finish = start + w.work_units / curve.mean_rate
        if w.due_s < 0:
            breach = True
        elif finish is None:
            breach = w.due_s <= horizon_s
        else:
            breach = finish > w.due_s
        out.append(Predicted(w.key, work, len(pool), start, finish, breach))
        for k, fraction in share[pool]:
            ahead[k] += w.work_units * fraction
    return out
