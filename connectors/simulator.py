"""A PACS simulator: realistic NHS study traffic, deterministic for a seed.

Mix (England, roughly): plain X-ray about half, ultrasound a quarter, CT ~15%, MR ~9%, the rest
NM, PET-CT, fluoroscopy and mammography. Arrivals follow a daily curve (elective work in the
working day, ED around the clock); sources, urgency, ages and body parts are consistent with
the exam. :func:`generate_studies` returns API-ready dicts (``POST /api/v1/studies``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydicom.uid import generate_uid

from connectors.catalogue import CATALOGUE, Exam

SOURCES = ("ed", "inpatient", "outpatient", "gp")

# Relative arrivals by hour of day (local time), per patient source.
_ED = (3, 2, 2, 2, 2, 2, 3, 4, 6, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3)
_IP = (1, 1, 1, 1, 1, 1, 1, 2, 6, 8, 8, 8, 7, 7, 7, 6, 5, 4, 3, 2, 2, 1, 1, 1)
_OP = (0, 0, 0, 0, 0, 0, 0, 1, 7, 10, 10, 10, 8, 9, 10, 10, 9, 6, 3, 1, 0, 0, 0, 0)
_GP = (0, 0, 0, 0, 0, 0, 0, 1, 8, 10, 10, 10, 9, 9, 10, 10, 8, 5, 2, 1, 0, 0, 0, 0)
HOURLY: dict[str, tuple[int, ...]] = {"ed": _ED, "inpatient": _IP, "outpatient": _OP, "gp": _GP}

# Share of all tests by modality group (per cent).
MODALITY_MIX: tuple[tuple[str, float], ...] = (
    ("XR", 50.0),
    ("US", 25.0),
    ("CT", 15.0),
    ("MR", 9.0),
    ("MG", 0.35),
    ("NM", 0.25),
    ("PT", 0.2),
    ("RF", 0.2),
)
# Exams within a modality group: (catalogue description, weight).
EXAM_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "XR": (
        ("XR Chest", 35),
        ("XR Knee", 8),
        ("XR Hand", 7),
        ("XR Wrist", 6),
        ("XR Ankle", 6),
        ("XR Foot", 5),
        ("XR Shoulder", 5),
        ("XR Hip", 6),
        ("XR Pelvis", 4),
        ("XR Lumbar spine", 4),
        ("XR Cervical spine", 2),
        ("XR Abdomen", 4),
        ("XR Elbow", 3),
        ("XR Skull", 1),
    ),
    "US": (
        ("US Abdomen", 35),
        ("US Pelvis", 20),
        ("US Renal tract", 12),
        ("US Neck", 8),
        ("US Doppler leg veins", 10),
        ("US Breast", 5),
        ("US Scrotum", 4),
        ("US Shoulder", 6),
    ),
    "CT": (
        ("CT Head", 35),
        ("CT Chest abdomen pelvis", 18),
        ("CT Abdomen pelvis", 15),
        ("CT Chest", 12),
        ("CT Pulmonary angiogram", 8),
        ("CT Cervical spine", 5),
        ("CT Colonography", 3),
        ("CT Coronary angiogram", 4),
    ),
    "MR": (
        ("MR Brain", 25),
        ("MR Lumbar spine", 20),
        ("MR Knee", 15),
        ("MR Cervical spine", 8),
        ("MR Shoulder", 7),
        ("MR Prostate", 8),
        ("MR Liver", 6),
        ("MR Pelvis", 5),
        ("MR Heart", 3),
        ("MR Breast", 3),
    ),
    "MG": (("Mammography symptomatic", 1),),
    "NM": (("NM Bone scan", 3), ("NM Thyroid scan", 1)),
    "PT": (("PET-CT FDG whole body", 1),),
    "RF": (("Fluoroscopy swallow", 3), ("Fluoroscopy barium enema", 1)),
}
# Patient source weights by modality group: ed, inpatient, outpatient, gp.
SOURCE_MIX: dict[str, tuple[float, float, float, float]] = {
    "XR": (35, 15, 20, 30),
    "US": (10, 20, 35, 35),
    "CT": (35, 30, 30, 5),
    "MR": (5, 20, 60, 15),
    "MG": (0, 5, 80, 15),
    "NM": (0, 20, 75, 5),
    "PT": (0, 10, 90, 0),
    "RF": (2, 30, 60, 8),
}
CT_CHEST_PAIRED = 0.4  # CT chests whose patient also has a CT abdomen pelvis in the visit
_BY_DESCRIPTION: dict[str, Exam] = {exam.description: exam for exam in CATALOGUE}
_SITE_NAMES: dict[str, str] = {}


@dataclass(frozen=True)
class _Pick:
    group: str
    exam: Exam


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=1)[0]


def _pick_exam(rng: random.Random) -> _Pick:
    group = _weighted(rng, MODALITY_MIX)
    return _Pick(group, _BY_DESCRIPTION[_weighted(rng, EXAM_MIX[group])])


def _source(rng: random.Random, pick: _Pick, hour: int) -> str:
    base = SOURCE_MIX[pick.group]
    if pick.exam.description in {"CT Head", "CT Cervical spine", "CT Pulmonary angiogram"}:
        base = (60, 30, 8, 2)
    weights = [base[i] * (HOURLY[s][hour] + 0.01) for i, s in enumerate(SOURCES)]
    return rng.choices(SOURCES, weights=weights, k=1)[0]


def _urgency(rng: random.Random, pick: _Pick, source: str) -> str:
    roll = rng.random()
    desc = pick.exam.description
    if source == "ed":
        if desc == "CT Head":
            return "stroke" if roll < 0.12 else "trauma" if roll < 0.2 else "urgent"
        if pick.group == "CT":
            return "trauma" if roll < 0.1 else "urgent"
        return "trauma" if roll < 0.02 else "urgent"
    if source == "inpatient":
        return "urgent" if roll < 0.4 else "routine"
    cancer = 0.15 if pick.group in {"CT", "MR", "US", "PT"} else 0.05
    if desc == "XR Chest" and source == "gp":
        cancer = 0.1
    return "cancer" if roll < cancer else "routine"


def _age(rng: random.Random, pick: _Pick, source: str) -> int:
    desc = pick.exam.description
    if pick.group == "MG":
        return rng.randint(35, 80)
    if desc == "MR Prostate":
        return rng.randint(50, 85)
    if source == "ed" and pick.group == "XR" and rng.random() < 0.2:
        return rng.randint(1, 15)
    if source == "inpatient":
        return int(min(100, max(18, rng.triangular(18, 100, 78))))
    return int(min(98, max(0, rng.gauss(55, 20))))


def _modality(rng: random.Random, pick: _Pick) -> str:
    if pick.group == "XR":
        return "DX" if rng.random() < 0.6 else "CR"
    return pick.exam.modalities[0]


def _rate_per_hour(per_day: float, hour: int) -> float:
    total = sum(sum(curve) for curve in HOURLY.values())
    return per_day * sum(curve[hour] for curve in HOURLY.values()) / total


def iter_studies(
    sites: Sequence[str],
    start: datetime,
    seed: int,
    *,
    per_day: float = 14_000,
) -> Iterator[dict[str, Any]]:
    """An endless, deterministic stream of studies acquired from ``start`` on."""
    if not sites:
        raise ValueError("at least one site is needed")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    rng = random.Random(seed)
    now = start.astimezone(UTC)
    i = 0
    while True:
        local_hour = now.hour  # the curve is in UK time; UTC is within an hour of it
        rate = max(_rate_per_hour(per_day, local_hour), per_day / 240) / 3600.0
        now += timedelta(seconds=rng.expovariate(rate))
        pick = _pick_exam(rng)
        source = _source(rng, pick, local_hour)
        site = rng.choice(list(sites))
        patient = f"SIM{rng.randrange(10**9):09d}"
        age = _age(rng, pick, source)
        visit = [pick]
        if pick.exam.description == "CT Chest" and rng.random() < CT_CHEST_PAIRED:
            visit.append(_Pick("CT", _BY_DESCRIPTION["CT Abdomen pelvis"]))
        for j, one in enumerate(visit):
            uid = generate_uid(entropy_srcs=[f"worklist-sim:{seed}:{i}"])
            modality = _modality(rng, one)
            yield {
                "study_uid": str(uid),
                "accession": f"A{rng.randrange(10**12):012d}",
                "site": site,
                "modality": modality,
                "body_part": one.exam.body_part,
                "exam_code": one.exam.code,
                "description": one.exam.description,
                "patient_id": patient,
                "patient_age": age,
                "patient_source": source,
                "urgency": _urgency(rng, one, source),
                "acquired_at": (now + timedelta(seconds=40 * j)).isoformat(),
            }
            i += 1


def generate_studies(
    n: int,
    sites: Sequence[str],
    start: datetime,
    seed: int,
    *,
    per_day: float = 14_000,
) -> list[dict[str, Any]]:
    """``n`` API-ready studies (deterministic for ``seed``), acquired from ``start`` on."""
    out: list[dict[str, Any]] = []
    for study in iter_studies(sites, start, seed, per_day=per_day):
        if len(out) >= n:
            break
        out.append({k: v for k, v in study.items() if v is not None})
    return out
