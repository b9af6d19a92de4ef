"""HL7 v2 acknowledgements (original mode): AA accepted, AE error, AR rejected.

Built from the raw text, so even a message the parser refuses gets an ACK that names it.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

AA, AE, AR = "AA", "AE", "AR"
# HL7 table 0357 error codes used in ERR-3.
ERR_UNSUPPORTED = "200^Unsupported message type^HL70357"
ERR_REQUIRED = "101^Required field missing^HL70357"
ERR_INTERNAL = "207^Application internal error^HL70357"
ERR_SEGMENT = "100^Segment sequence error^HL70357"

_counter = itertools.count(1)


def escape(text: str) -> str:
    """Escape HL7 delimiters in free text (MSA-3, ERR-8)."""
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\")):
        out = out.replace(char, code)
    return re.sub(r"[\r\n]+", " ", out)[:400]


def msh_fields(raw: str) -> list[str]:
    """MSH fields by HL7 number (index 1 is the field separator); empty if there is no MSH."""
    first = re.split(r"[\r\n]+", raw.lstrip("\x0b\r\n "), maxsplit=1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return []
    sep = first[3]
    parts = first.split(sep)
    return ["MSH", sep, *parts[1:]]


def build_ack(raw: str, code: str, text: str = "", error: str | None = None) -> str:
    """An ACK for ``raw``: MSH, MSA and (for AE/AR) ERR, segments ended by carriage returns."""
    f = msh_fields(raw)

    def get(n: int, default: str = "") -> str:
        return f[n] if len(f) > n and f[n] else default

    trigger = get(9).split("^")[1] if "^" in get(9) else ""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    control = f"ACK{now}{next(_counter):05d}"
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            get(5, "WORKLIST"),
            get(6),
            get(3),
            get(4),
            now,
            "",
            f"ACK^{trigger}^ACK" if trigger else "ACK",
            control,
            get(11, "P"),
            get(12, "2.4"),
        ]
    )
    segments = [msh, "|".join(["MSA", code, get(10), escape(text)])]
    if code != AA:
        severity = "E"
        segments.append(
            "|".join(["ERR", "", "", error or ERR_INTERNAL, severity, "", "", "", escape(text)])
        )
    return "\r".join(segments) + "\r"


def ack_code(ack: str) -> str:
    """The MSA-1 of an ACK (for tests and logs)."""
    for segment in re.split(r"[\r\n]+", ack):
        if segment.startswith("MSA"):
            return segment.split(segment[3])[1]
    return ""
