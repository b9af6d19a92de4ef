"""C-FIND at study level against a PACS (Study Root), e.g. to backfill a date range."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE

from connectors.dicom_map import WANTED, attrs_from_dataset

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PENDING = frozenset({0xFF00, 0xFF01})
# Return keys a study-level C-FIND may carry (series/instance-level keys are not allowed).
_STUDY_KEYS = tuple(
    k
    for k in WANTED
    if k
    not in {
        "Modality",
        "SeriesDescription",
        "SeriesDate",
        "SeriesTime",
        "AcquisitionDate",
        "AcquisitionTime",
        "BodyPartExamined",
        "RequestedProcedureDescription",
        "TimezoneOffsetFromUTC",
    }
)


class FindError(RuntimeError):
    """The PACS refused the association or the query."""


def find_studies(
    host: str,
    port: int,
    called_ae: str,
    *,
    calling_ae: str = "WORKLIST",
    start: date | None = None,
    end: date | None = None,
    accession: str | None = None,
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """Study-level matches as ``{keyword: value}`` attributes (never PatientName)."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in _STUDY_KEYS:
        setattr(query, keyword, "")
    if start or end:
        query.StudyDate = f"{start:%Y%m%d}" if start else ""
        query.StudyDate += "-" + (f"{end:%Y%m%d}" if end else "")
    if accession:
        query.AccessionNumber = accession
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(STUDY_ROOT_FIND)
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        raise FindError(f"association with {called_ae}@{host}:{port} was not accepted")
    results: list[dict[str, Any]] = []
    try:
        for status, identifier in assoc.send_c_find(query, STUDY_ROOT_FIND):
            if not status or "Status" not in status:
                raise FindError(
                    "C-FIND: no answer: the PACS aborted or timed out (may this AE query it?)"
                )
            code = int(status.Status)
            if code in PENDING and identifier is not None:
                results.append(attrs_from_dataset(identifier))
            elif code != 0x0000:
                raise FindError(f"C-FIND failed with status 0x{code:04X}")
    finally:
        assoc.release()
    return results
