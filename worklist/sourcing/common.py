"""Small helpers the sourcing endpoints share: roles, periods, the network a call is about."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query
from sqlmodel import Session, select

from dashboards.periods import Period, PeriodError, parse_period
from worklist.auth.tokens import Principal
from worklist.deps import require
from worklist.models import Network

OpsDep = Annotated[Principal, Depends(require("ops"))]
From = Annotated[str | None, Query(alias="from", description="ISO date (local) or datetime")]
To = Annotated[str | None, Query(alias="to", description="ISO date (inclusive) or datetime")]


def period_of(start: str | None, end: str | None, tz: str) -> Period:
    try:
        return parse_period(start, end, tz)
    except PeriodError as e:
        raise HTTPException(422, str(e)) from e


def network_of(db: Session, given: str | None) -> str:
    """The named network, or the only one there is."""
    codes = list(db.exec(select(Network.code)).all())
    if given is not None:
        if given not in codes:
            raise HTTPException(422, f"unknown network {given!r}")
        return given
    if len(codes) != 1:
        raise HTTPException(422, "name the network (there is not exactly one)")
    return codes[0]


def actor_of(principal: Principal) -> str:
    return principal.reporter_id or f"{principal.role}-token:{principal.token_id or 'bootstrap'}"


def aware(at: datetime | None, default: datetime) -> datetime:
    """A given time must carry its UTC offset; none means ``default``."""
    if at is None:
        return default
    if at.tzinfo is None:
        raise HTTPException(422, "a time needs a UTC offset")
    return at
