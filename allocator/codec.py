"""JSON forms of profiles and studies as stored in Redis (compact, None fields dropped so the
Lua side never meets ``cjson.null``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from allocator.eligibility import DECODED_CACHE, entry_from_json, entry_to_json
from allocator.ranking import held_suffix, queue_suffix
from allocator.types import HOT_URGENCIES, QueuedStudy, ReporterProfile

_SEP = (",", ":")


def profile_to_json(p: ReporterProfile) -> str:
    return json.dumps(
        {
            "id": p.reporter_id,
            "group": p.group,
            "home": p.home_site,
            "sites": sorted(p.sites),
            "subs": sorted(p.subspecialties),
            "scope": [json.loads(entry_to_json(e)) for e in p.scope],
        },
        separators=_SEP,
    )


@lru_cache(maxsize=DECODED_CACHE)
def profile_from_json(text: str) -> ReporterProfile:
    """Cached by its text, like the other structure decoders (``eligibility.DECODED_CACHE``)."""
    d = json.loads(text)
    return ReporterProfile(
        reporter_id=d["id"],
        group=d["group"],
        home_site=d["home"],
        sites=frozenset(d["sites"]),
        subspecialties=frozenset(d["subs"]),
        scope=tuple(entry_from_json(json.dumps(e)) for e in d["scope"]),
    )


def study_to_json(s: QueuedStudy, bucket_id: str, stage: int, entries: Iterable[str]) -> str:
    """The stored study: its fields plus bucket id ``b``, the bucket's scope entry ids ``be``
    (its heads lists), queue member tail ``m`` and held member tail ``k``."""
    d: dict[str, Any] = {
        "study_id": s.study_id,
        "site": s.site,
        "modality": s.modality,
        "body_part": s.body_part,
        "exam_code": s.exam_code,
        "patient_age": s.patient_age,
        "patient_source": s.patient_source,
        "urgency": s.urgency,
        "subspecialty": s.subspecialty,
        "requires_subspecialist": s.requires_subspecialist,
        "work_units": s.work_units,
        "acquired_ms": s.acquired_ms,
        "due_ms": s.due_ms,
        "patient_key": s.patient_key,
        "widening_stage": stage,
        "hot": s.urgency in HOT_URGENCIES,
        "b": bucket_id,
        "be": sorted(entries),
        "m": queue_suffix(s.due_ms, s.acquired_ms, s.study_id),
        "k": held_suffix(s.due_ms, s.study_id),
    }
    return json.dumps({k: v for k, v in d.items() if v is not None}, separators=_SEP)


def study_from_json(text: str) -> QueuedStudy:
    d = json.loads(text)
    return QueuedStudy(
        study_id=d["study_id"],
        site=d["site"],
        modality=d["modality"],
        body_part=d.get("body_part"),
        exam_code=d.get("exam_code"),
        patient_age=d.get("patient_age"),
        patient_source=d.get("patient_source"),
        urgency=d["urgency"],
        subspecialty=d.get("subspecialty"),
        requires_subspecialist=d["requires_subspecialist"],
        work_units=float(d["work_units"]),
        acquired_ms=int(d["acquired_ms"]),
        due_ms=int(d["due_ms"]),
        patient_key=d.get("patient_key"),
        widening_stage=int(d["widening_stage"]),
    )


def stored_bucket(text: str) -> tuple[str, int]:
    """(bucket id, stage) of a stored study."""
    d = json.loads(text)
    return str(d["b"]), int(d["widening_stage"])
