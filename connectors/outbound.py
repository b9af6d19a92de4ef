"""Orders out to outsourcing providers: HL7 v2.4 ORM^O01 over MLLP, answered by an ACK.

The balancer keeps no patient identifiers, so PID-3 carries the network's pseudonymous
patient key; the provider finds the images by accession (ORC-2/OBR-2) and Study Instance UID
(ZDS-1) through the network's image sharing, as outsourcing contracts already arrange.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.hl7_ack import ack_code, escape

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
_MAX_ACK_BYTES = 1024 * 1024
_PRIORITY = {"stroke": "S", "trauma": "S", "urgent": "A", "cancer": "A", "routine": "R"}
_PATIENT_CLASS = {"ed": "E", "inpatient": "I", "outpatient": "O", "gp": "O"}


class OutboundError(Exception):
    """The order was not accepted: no connection, no ACK, or an AE/AR answer."""


@dataclass(frozen=True)
class MllpTarget:
    """A provider's order endpoint."""

    host: str
    port: int
    receiving_application: str = "PROVIDER"
    receiving_facility: str = ""
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class OutboundOrder:
    """What the provider needs to report a study and when they owe the report."""

    control_id: str
    network: str
    site: str
    study_uid: str
    accession: str | None
    patient_key: str | None
    patient_source: str | None
    modality: str
    body_part: str | None
    exam_code: str | None
    description: str | None
    urgency: str
    acquired_at: datetime
    provider_due_at: datetime


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def build_orm(order: OutboundOrder, target: MllpTarget, now: datetime) -> str:
    """The ORM^O01 new-order message, segments ended by carriage returns."""
    e = escape
    accession = e(order.accession or order.study_uid[-20:])
    priority = _PRIORITY.get(order.urgency, "R")
    service = f"{e(order.exam_code or order.modality)}^{e(order.description or '')}^L"
    timing = f"^^^{_ts(order.acquired_at)}^{_ts(order.provider_due_at)}^{priority}"
    msh = ["MSH", "^~\\&", "WORKLIST", e(order.network), e(target.receiving_application),
           e(target.receiving_facility), _ts(now), "", "ORM^O01^ORM_O01", order.control_id,
           "P", "2.4"]  # fmt: skip
    obr = ["OBR", "1", f"{accession}^{e(order.site)}", "", service, priority, "",
           _ts(order.acquired_at), *[""] * 16, e(order.modality), "", "", timing]  # fmt: skip
    segments = [
        "|".join(msh),
        f"PID|1||{e(order.patient_key or '')}^^^WORKLIST^PI",
        f"PV1|1|{_PATIENT_CLASS.get(order.patient_source or '', 'U')}|{e(order.site)}",
        f"ORC|NW|{accession}^{e(order.site)}|||||{timing}||{_ts(now)}",
        "|".join(obr),
        f"ZDS|{e(order.study_uid)}^WORKLIST^Application^DICOM",
    ]
    if order.body_part:
        segments.append(f"NTE|1||Body part: {e(order.body_part)}")
    return "\r".join(segments) + "\r"


def send_mllp(target: MllpTarget, message: str) -> str:
    """Send one framed message and wait for its ACK; raises OutboundError unless AA/CA."""
    try:
        with socket.create_connection(
            (target.host, target.port), timeout=target.timeout_seconds
        ) as sock:
            sock.settimeout(target.timeout_seconds)
            sock.sendall(SB + message.encode("utf-8") + EB + CR)
            buffer = b""
            while EB + CR not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise OutboundError("the provider closed the connection without an ACK")
                buffer += chunk
                if len(buffer) > _MAX_ACK_BYTES:
                    raise OutboundError("the provider's answer is too long")
    except OSError as e:
        raise OutboundError(f"cannot reach {target.host}:{target.port}: {e}") from e
    ack = buffer.split(EB + CR, 1)[0].lstrip(SB).decode("utf-8", "replace")
    code = ack_code(ack)
    if code not in ("AA", "CA"):
        raise OutboundError(f"the provider answered {code or 'no MSA'}")
    return ack
