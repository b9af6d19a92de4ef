"""Who reported the work (core sessions, insourced sessions, outsourcing) and what it cost.

The dashboards' view of ``worklist.sourcing.costing``, the one implementation: priced core and
insourced reports (core costs 0 unless a core rate exists) and outsourced reports at the price
fixed on their orders. See that module and docs/sourcing.md for how each report is priced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection

from dashboards.periods import Period
from worklist.sourcing.costing import sourcing_costs, sourcing_costs_monthly


def sourcing(conn: Connection, period: Period, network: str | None = None) -> list[dict[str, Any]]:
    """One row per registered site, then the network total (``site`` null)."""
    return sourcing_costs(conn, period.start, period.end, network)


def sourcing_monthly(
    conn: Connection, starts: Sequence[date], tz_name: str, network: str | None = None
) -> list[dict[str, Any]]:
    """Per local month: a row per site with reports, then the month's total."""
    return sourcing_costs_monthly(conn, starts, tz_name, network)
