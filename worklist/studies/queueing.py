"""Hand waiting studies to the allocator and audit what it did with them (pushes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert

from allocator.types import QueuedStudy
from worklist.models import StudyEvent
from worklist.services import Services, utcnow


def to_queued(row: Mapping[str, Any]) -> QueuedStudy:
    """A study row (ORM object attributes or a Core row mapping) as the allocator sees it."""
    return QueuedStudy(
        study_id=row["study_uid"],
        site=row["site"],
        modality=row["modality"],
        body_part=row["body_part"],
        exam_code=row["exam_code"],
        patient_age=row["patient_age"],
        patient_source=row["patient_source"],
        urgency=row["urgency"],
        subspecialty=row["subspecialty"],
        requires_subspecialist=bool(row["requires_subspecialist"]),
        work_units=float(row["work_units"]),
        acquired_ms=int(row["acquired_at"].timestamp() * 1000),
        due_ms=int(row["due_at"].timestamp() * 1000),
        patient_key=row["patient_key"],
        widening_stage=int(row.get("widening_stage") or 0),
    )


def enqueue_and_audit(
    services: Services, conn: Connection, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> int:
    """Index unreported studies in their network's allocator; record any hot-case push.

    ``rows`` are (study id, columns). Returns the number of pushes made.
    """
    by_network: dict[str, list[tuple[int, QueuedStudy]]] = defaultdict(list)
    for study_id, row in rows:
        by_network[row["network"]].append((study_id, to_queued(row)))
    pushes = 0
    now = utcnow()
    for network, items in by_network.items():
        ids = {q.study_id: sid for sid, q in items}
        made = services.allocator(network).enqueue(
            [q for _, q in items], int(now.timestamp() * 1000)
        )
        if made:
            conn.execute(
                insert(StudyEvent),
                [
                    {
                        "study_id": ids[p.study_id],
                        "at": now,
                        "kind": "pushed",
                        "actor": "allocator",
                        "detail": {"reporter": p.reporter_id, **p.reason},
                    }
                    for p in made
                ],
            )
            pushes += len(made)
    return pushes
