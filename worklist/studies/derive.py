"""Fill in what a feed left out: exam entry, urgency, subspecialty, work units and due time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worklist.catalogue import Catalogue
from worklist.models import Order
from worklist.policy import TatPolicy, derive_urgency
from worklist.studies.schemas import StudyIn

PAEDIATRIC_AGE = 16
PAEDIATRIC_SUBSPECIALTY_MODALITIES = frozenset({"CT", "MR", "NM", "PT"})


def study_columns(
    item: StudyIn,
    order: Order | None,
    catalogue: Catalogue,
    policy: TatPolicy,
    network: str,
    patient_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The study row's columns; the order (RIS) wins over the study for urgency and source."""
    exam_code = item.exam_code or (order.exam_code if order else None)
    entry = catalogue.match(exam_code, item.modality, item.body_part)
    patient_source = (order.patient_source if order else None) or item.patient_source
    if order is not None and order.urgency:
        urgency, origin = order.urgency, "order"
    elif item.urgency:
        urgency, origin = item.urgency, "given"
    else:
        urgency, origin = derive_urgency(patient_source), "derived"
    subspecialty = item.subspecialty or (entry.subspecialty if entry else None)
    if (
        not item.subspecialty
        and item.patient_age is not None
        and item.patient_age < PAEDIATRIC_AGE
        and item.modality in PAEDIATRIC_SUBSPECIALTY_MODALITIES
    ):
        subspecialty = "paediatrics"
    return {
        "study_uid": item.study_uid,
        "accession": item.accession,
        "site": item.site,
        "network": network,
        "modality": item.modality,
        "body_part": item.body_part or (entry.body_part if entry else None),
        "exam_code": entry.code if entry else exam_code,
        "description": item.description or (order.description if order else None),
        "patient_key": patient_key,
        "patient_age": item.patient_age,
        "patient_source": patient_source,
        "urgency": urgency,
        "urgency_origin": origin,
        "subspecialty": subspecialty,
        "requires_subspecialist": item.requires_subspecialist and subspecialty is not None,
        "radiographer_reportable": entry.radiographer_reportable if entry else False,
        "work_units": catalogue.work_units(entry, item.modality),
        "acquired_at": item.acquired_at,
        "due_at": policy.due_at(item.acquired_at, urgency, patient_source),
        "updated_at": now,
    }
