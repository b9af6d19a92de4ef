"""Ranking weights and the pure arithmetic of ranking and widening (shared by Lua arguments)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RankingWeights:
    """Soft ranking and widening knobs; lower effective score (ms) is handed out first."""

    subspecialty_bonus_ms: int = 60 * 60_000
    home_site_bonus_ms: int = 30 * 60_000
    # a radiographer-reportable study moves back this much for a radiologist/registrar while an
    # eligible radiographer is on duty ...
    radiographer_deferral_ms: int = 240 * 60_000
    # ... unless its slack (due - now) is below this
    deferral_min_slack_ms: int = 60 * 60_000
    widen_to_radiologists_at: float = 0.5  # fraction of (due - acquired) left when stage 0->1
    widen_to_outsourcing_at: float = 0.1  # fraction left when stage 1->2 (outsourcing recommended)
    patient_hold_ms: int = 30 * 60_000  # how long a patient's other studies stay held
    # how long a pushed hot study waits for its reporter before rejoining the queue (0: forever)
    push_hold_ms: int = 15 * 60_000
    # expected reading time per work unit (12 work units an hour): a study's time left never
    # counts for less than its reading time, see ``reading_due``
    reading_ms_per_work_unit: int = 5 * 60_000


def reading_half_units(work_units: float) -> int:
    """Work units in whole halves, never below 0 (halves round up, as SQL's
    ``floor(x * 2 + 0.5)``): the studies of one bucket share a reading allowance, and an odd
    catalogue value cannot multiply the buckets. The heads lists (``_lib.lua``) keep each band
    of it apart."""
    return max(0, math.floor(work_units * 2 + 0.5))


def reading_due(due_ms: int, work_units: float, now_ms: int, weights: RankingWeights) -> int:
    """The due time ranking uses: the later of the due time and the time the study would be
    reported if started now (the "modified due date" rule of scheduling).

    While a study can still be reported in time it ranks by its due time, as before. Once it
    cannot, it ranks by when it would be finished, so under overload a short study that can
    still meet its target goes before a long one that will miss it anyway, and among studies
    already past saving the quickest go first. Plain earliest-due-first instead spends the
    evening's scarce reporting time on studies that breach regardless.
    """
    allowance = reading_half_units(work_units) * weights.reading_ms_per_work_unit // 2
    return max(due_ms, now_ms + allowance)


def widen_time(acquired_ms: int, due_ms: int, stage: int, weights: RankingWeights) -> int | None:
    """When a study at ``stage`` moves to the next stage, or None once it is at stage 2.

    The move happens when the fraction of (due - acquired) still left falls to the threshold.
    """
    if stage >= 2:
        return None
    frac = weights.widen_to_radiologists_at if stage == 0 else weights.widen_to_outsourcing_at
    return due_ms - int(frac * max(due_ms - acquired_ms, 0))


def stage_at(
    acquired_ms: int, due_ms: int, stage: int, now_ms: int, weights: RankingWeights
) -> int:
    """The stage a study should be at by ``now_ms`` (never lower than its current one)."""
    while True:
        t = widen_time(acquired_ms, due_ms, stage, weights)
        if t is None or now_ms < t:
            return stage
        stage += 1


def queue_suffix(due_ms: int, acquired_ms: int, study_id: str) -> str:
    """Tail of a queue member after ``<bucket><tab>``: a bucket's studies sort by due time,
    then oldest acquisition, then id (the ranking's tie-break)."""
    return f"{due_ms:013d}\t{acquired_ms:013d}\t{study_id}"


def held_suffix(due_ms: int, study_id: str) -> str:
    """Tail of a ``held`` member: a reporter's held studies come out most urgent first."""
    return f"{due_ms:013d}\t{study_id}"
