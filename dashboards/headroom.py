"""Headroom: radiographer-reportable work others reported while a radiographer was on duty.

The dashboards' view of ``worklist.sourcing.headroom``, the one implementation (fields and the
on-duty approximation are described there and in docs/dashboards.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from dashboards.periods import Period
from worklist.sourcing import headroom as implementation


def headroom(conn: Connection, period: Period, network: str | None = None) -> list[dict[str, Any]]:
    """Per site with reportable reports, then the network total (``site`` null)."""
    return implementation.headroom(conn, period.start, period.end, network)
