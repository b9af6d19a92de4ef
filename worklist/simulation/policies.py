"""Allocation policies the simulation compares: the real allocator and two baselines.

- ``balancer``: ``allocator.engine.Allocator`` on a real Redis, "now" from the simulated clock.
- ``fifo-site``: each reporter takes the oldest eligible study of their home site, then the
  oldest elsewhere (every trust reporting its own list first, as before a network).
- ``quickest``: an open list where reporters pick the eligible case with the fewest work units.

All three apply the same hard eligibility (``allocator.eligibility``) and the same widening
clock; a study reaching stage 2 is handed back to the caller for outsourcing.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from allocator.eligibility import BucketMeta, bucket_for, entry_id, may_report_bucket
from allocator.engine import Allocator
from allocator.ranking import RankingWeights, stage_at, widen_time
from allocator.types import QueuedStudy, ReporterProfile, ScopeEntry, SessionKind


class Policy(Protocol):
    """What the simulation loop drives; every call takes the simulated time in ms."""

    name: str

    def setup(self, team: Sequence[ReporterProfile], now_ms: int) -> None: ...
    def start_session(self, reporter_id: str, kind: SessionKind, now_ms: int) -> None: ...
    def end_session(self, reporter_id: str, now_ms: int) -> None: ...
    def enqueue(self, studies: Sequence[QueuedStudy], now_ms: int) -> None: ...
    def claim(self, reporter_id: str, now_ms: int) -> str | None: ...
    def complete(self, reporter_id: str, study_id: str, now_ms: int) -> None: ...
    def release(self, reporter_id: str, study_id: str, now_ms: int) -> None: ...
    def widen(self, now_ms: int, outsource: Callable[[str], bool]) -> list[str]:
        """Advance widening; waiting studies at stage 2 that ``outsource`` accepts leave the
        list and are returned."""
        ...


class BalancerPolicy:
    """The product's allocator, unchanged, on the Redis it is given."""

    name = "balancer"

    def __init__(self, client: Any, weights: RankingWeights, lease_ms: int) -> None:
        self._a = Allocator(client, "sim", weights)
        self._lease_ms = lease_ms

    def setup(self, team: Sequence[ReporterProfile], now_ms: int) -> None:
        self._a.rebuild(team, {}, [], [], now_ms)

    def start_session(self, reporter_id: str, kind: SessionKind, now_ms: int) -> None:
        self._a.start_session(reporter_id, kind, now_ms)

    def end_session(self, reporter_id: str, now_ms: int) -> None:
        self._a.end_session(reporter_id, now_ms)

    def enqueue(self, studies: Sequence[QueuedStudy], now_ms: int) -> None:
        self._a.enqueue(studies, now_ms)

    def claim(self, reporter_id: str, now_ms: int) -> str | None:
        claim = self._a.claim(reporter_id, now_ms, self._lease_ms)
        return None if claim is None else claim.study_id

    def complete(self, reporter_id: str, study_id: str, now_ms: int) -> None:
        if not self._a.complete(reporter_id, study_id, now_ms):
            raise RuntimeError(f"lease lost on {study_id}: raise the simulated lease")

    def release(self, reporter_id: str, study_id: str, now_ms: int) -> None:
        self._a.release(reporter_id, study_id, now_ms)

    def widen(self, now_ms: int, outsource: Callable[[str], bool]) -> list[str]:
        self._a.expire_leases(now_ms)  # patient holds and pushes that ran out
        out = []
        for event in self._a.widen(now_ms):
            sid = event.study_id
            if event.stage == 2 and outsource(sid) and self._a.lease_holder(sid) is None:
                out.append(sid)
        if out:
            self._a.remove(out)
        return out


class BaselinePolicy:
    """A list reporters serve themselves from, ordered by ``order``: ``fifo-site`` or
    ``quickest``. Buckets (same signature as the allocator's) keep each claim cheap."""

    def __init__(self, order: str, weights: RankingWeights) -> None:
        if order not in ("fifo-site", "quickest"):
            raise ValueError(f"unknown baseline {order!r}")
        self.name = order
        self._w = weights
        self._profiles: dict[str, ReporterProfile] = {}
        self._entries: dict[str, ScopeEntry] = {}
        self._heaps: dict[BucketMeta, list[tuple[Any, ...]]] = {}
        self._mine: dict[str, list[BucketMeta]] = {}
        self._studies: dict[str, tuple[QueuedStudy, int, BucketMeta]] = {}
        self._widen: list[tuple[int, str]] = []
        self._taken: dict[str, QueuedStudy] = {}
        self._on_duty: set[str] = set()

    def setup(self, team: Sequence[ReporterProfile], now_ms: int) -> None:
        self._profiles = {p.reporter_id: p for p in team}
        self._entries = {entry_id(e): e for p in team for e in p.scope}
        self._mine = {p.reporter_id: [] for p in team}

    def start_session(self, reporter_id: str, kind: SessionKind, now_ms: int) -> None:
        self._on_duty.add(reporter_id)

    def end_session(self, reporter_id: str, now_ms: int) -> None:
        self._on_duty.discard(reporter_id)

    def _key(self, s: QueuedStudy) -> tuple[Any, ...]:
        if self.name == "quickest":
            return (s.work_units, s.acquired_ms, s.study_id)
        return (s.acquired_ms, s.study_id)

    def _place(self, s: QueuedStudy, stage: int) -> None:
        meta = bucket_for(s, stage, self._entries)
        if meta not in self._heaps:
            self._heaps[meta] = []
            for rid, profile in self._profiles.items():
                if may_report_bucket(profile, meta):
                    self._mine[rid].append(meta)
        heapq.heappush(self._heaps[meta], self._key(s))
        self._studies[s.study_id] = (s, stage, meta)
        at = widen_time(s.acquired_ms, s.due_ms, stage, self._w)
        if at is not None:
            heapq.heappush(self._widen, (at, s.study_id))

    def enqueue(self, studies: Sequence[QueuedStudy], now_ms: int) -> None:
        for s in studies:
            self._place(s, stage_at(s.acquired_ms, s.due_ms, 0, now_ms, self._w))

    def _head(self, meta: BucketMeta) -> tuple[Any, ...] | None:
        heap = self._heaps[meta]
        while heap:
            sid = heap[0][-1]
            found = self._studies.get(sid)
            if found is not None and found[2] == meta:
                return heap[0]
            heapq.heappop(heap)  # stale: claimed, restaged or outsourced
        return None

    def claim(self, reporter_id: str, now_ms: int) -> str | None:
        home = self._profiles[reporter_id].home_site
        best: tuple[Any, ...] | None = None
        best_meta: BucketMeta | None = None
        for meta in self._mine[reporter_id]:
            head = self._head(meta)
            if head is None:
                continue
            rank = (0 if self.name == "fifo-site" and meta.site == home else 1, head)
            if best is None or rank < best:
                best, best_meta = rank, meta
        if best_meta is None:
            return None
        sid = str(heapq.heappop(self._heaps[best_meta])[-1])
        self._taken[sid] = self._studies.pop(sid)[0]
        return sid

    def complete(self, reporter_id: str, study_id: str, now_ms: int) -> None:
        del self._taken[study_id]

    def release(self, reporter_id: str, study_id: str, now_ms: int) -> None:
        """A released study rejoins the list at its original place."""
        s = self._taken.pop(study_id)
        self._place(s, stage_at(s.acquired_ms, s.due_ms, 0, now_ms, self._w))

    def widen(self, now_ms: int, outsource: Callable[[str], bool]) -> list[str]:
        out = []
        while self._widen and self._widen[0][0] <= now_ms:
            _, sid = heapq.heappop(self._widen)
            found = self._studies.get(sid)
            if found is None:
                continue
            s, stage, _ = found
            new = stage_at(s.acquired_ms, s.due_ms, stage, now_ms, self._w)
            if new == stage:
                continue
            if new >= 2 and outsource(sid):
                del self._studies[sid]
                out.append(sid)
            else:
                self._place(s, new)
        return out
