"""Simulated studies as small DICOM instances, sent to a PACS over STOW-RS or C-STORE."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import Any

import httpx
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

SOP_CLASSES: dict[str, str] = {
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "NM": "1.2.840.10008.5.1.4.1.1.20",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "RF": "1.2.840.10008.5.1.4.1.1.12.2",
    "XA": "1.2.840.10008.5.1.4.1.1.12.1",
}
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def dataset_for_study(study: dict[str, Any], instance: int = 1) -> Dataset:
    """One tiny (8x8) image of a simulated study, with its study-level attributes."""
    acquired = datetime.fromisoformat(str(study["acquired_at"]))
    uid = str(study["study_uid"])
    sop_class = SOP_CLASSES.get(str(study["modality"]), SECONDARY_CAPTURE)
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[uid, "instance", str(instance)])
    ds.StudyInstanceUID = uid
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[uid, "series"])
    ds.AccessionNumber = str(study.get("accession") or "")
    ds.Modality = str(study["modality"])
    ds.StudyDescription = str(study.get("description") or "")
    if study.get("body_part"):
        ds.BodyPartExamined = str(study["body_part"])
    ds.StudyDate = acquired.strftime("%Y%m%d")
    ds.StudyTime = acquired.strftime("%H%M%S")
    offset = acquired.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    ds.TimezoneOffsetFromUTC = (
        f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    )
    ds.PatientName = "SIMULATED^PATIENT"
    ds.PatientID = str(study.get("patient_id") or "")
    if study.get("patient_age") is not None:
        ds.PatientAge = f"{int(study['patient_age']):03d}Y"
    ds.InstitutionName = str(study.get("site") or "")
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(64))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(str(ds.SOPInstanceUID))
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def to_bytes(ds: Dataset) -> bytes:
    """A Part 10 file in memory."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def stow(dicomweb_url: str, datasets: Sequence[Dataset], client: httpx.Client | None = None) -> int:
    """STOW-RS: POST the instances as one multipart/related request; returns the HTTP status."""
    boundary = uuid.uuid4().hex
    body = BytesIO()
    for ds in datasets:
        body.write(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        body.write(to_bytes(ds))
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json",
    }
    own = client is None
    http = client or httpx.Client(timeout=60.0)
    try:
        response = http.post(
            dicomweb_url.rstrip("/") + "/studies", content=body.getvalue(), headers=headers
        )
        response.raise_for_status()
        return response.status_code
    finally:
        if own:
            http.close()


def cstore(
    host: str,
    port: int,
    called_ae: str,
    datasets: Sequence[Dataset],
    calling_ae: str = "WLSIM",
) -> list[int]:
    """C-STORE the instances over one association; returns each status."""
    ae = AE(ae_title=calling_ae)
    for sop_class in sorted({str(ds.SOPClassUID) for ds in datasets}):
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        raise ConnectionError(f"association with {called_ae}@{host}:{port} was not accepted")
    statuses: list[int] = []
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            statuses.append(int(status.Status) if status and "Status" in status else -1)
    finally:
        assoc.release()
    return statuses
