"""Small helpers the sourcing endpoints share: roles, the network a call is about, times."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException
from sqlmodel import Session, select

from worklist.auth.tokens import Principal
from worklist.deps import require
from worklist.models import Network

OpsDep = Annotated[Principal, Depends(require("ops"))]


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
