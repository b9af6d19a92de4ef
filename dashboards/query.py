"""Query parameters every period view shares: ``from``/``to`` as a Period, ``months``, the answer.

Used by the dashboards, the reporter's tally and the review summary, so each parses periods
(422 with the reason on a malformed or inverted one) and shapes ``{"from", "to", "rows"}`` alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query

from dashboards.periods import Period, PeriodError, parse_period
from worklist.deps import ServicesDep

From = Annotated[str | None, Query(alias="from", description="ISO date (local) or datetime")]
To = Annotated[str | None, Query(alias="to", description="ISO date (inclusive) or datetime")]
Months = Annotated[int, Query(ge=1, le=120, description="local calendar months, newest last")]


def period_param(services: ServicesDep, start: From = None, end: To = None) -> Period:
    """``from``/``to`` in the network's time zone; today by default."""
    try:
        return parse_period(start, end, services.settings.timezone)
    except PeriodError as e:
        raise HTTPException(422, str(e)) from e


PeriodDep = Annotated[Period, Depends(period_param)]


def answer(period: Period, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"from": period.label_from, "to": period.label_to, "rows": rows}
