"""Read a DICOM file's header only (no pixel data) and say clearly why a file is refused."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from connectors.dicom_map import attrs_from_dataset

_EXPLICIT_LONG = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}
_UNDEFINED = 0xFFFFFFFF


class RefusedFile(ValueError):
    """A file that cannot be imported, with the reason a person can act on."""


def _header_end(ds: Dataset) -> int:
    """Byte offset where the last complete top-level element ends (0 if unknown)."""
    end = 0
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if isinstance(raw, RawDataElement) and raw.length != _UNDEFINED and raw.value_tell:
            end = max(end, raw.value_tell + raw.length)
    return end


def _overruns(data: bytes, explicit: bool, little: bool) -> bool:
    """True when ``data`` starts with an element header whose value runs past the file's end."""
    if len(data) < 8:
        return True
    order = "<" if little else ">"
    if not explicit:
        length = struct.unpack(f"{order}I", data[4:8])[0]
        header = 8
    else:
        vr = data[4:6]
        if vr in _EXPLICIT_LONG:
            if len(data) < 12:
                return True
            length = struct.unpack(f"{order}I", data[8:12])[0]
            header = 12
        else:
            length = struct.unpack(f"{order}H", data[6:8])[0]
            header = 8
    return bool(length != _UNDEFINED and header + length > len(data))


def check_complete(path: Path, ds: Dataset) -> None:
    """Refuse a file cut short: pydicom itself reads a truncated file without complaint."""
    size = path.stat().st_size
    end = _header_end(ds)
    if not end or end == size:
        return
    if end > size:
        raise RefusedFile(f"truncated: an element runs to byte {end} of a {size}-byte file")
    ts = UID(str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2.1")))
    try:
        explicit, little = not ts.is_implicit_VR, ts.is_little_endian
    except ValueError:
        explicit, little = True, True
    with path.open("rb") as handle:
        handle.seek(end)
        rest = handle.read(16)
    if _overruns(rest, explicit, little):
        raise RefusedFile(f"truncated: the element at byte {end} runs past the end ({size} bytes)")


def read_header(path: Path) -> dict[str, Any]:
    """The wanted attributes of a DICOM file, or :class:`RefusedFile` with the reason."""
    try:
        ds = dcmread(path, defer_size=256)
    except InvalidDicomError as exc:
        raise RefusedFile(f"not a DICOM file: {exc}".strip()) from exc
    except (EOFError, OSError, ValueError, struct.error, KeyError) as exc:
        raise RefusedFile(f"unreadable DICOM: {type(exc).__name__}: {exc}") from exc
    check_complete(path, ds)
    try:
        attrs = attrs_from_dataset(ds)
    except Exception as exc:  # a corrupt value inside an otherwise complete file
        raise RefusedFile(f"corrupt DICOM header: {type(exc).__name__}: {exc}") from exc
    if not attrs.get("StudyInstanceUID"):
        raise RefusedFile("no StudyInstanceUID in the header")
    return attrs
