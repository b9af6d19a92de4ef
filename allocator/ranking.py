"""Ranking weights and the pure arithmetic of ranking and widening (shared by Lua arguments)."""

from __future__ import annotations

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
