"""FastAPI dependencies: services, a database session, the calling principal, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session

from worklist.auth.tokens import Principal, authenticate
from dashboards.metrics import Metrics
from worklist.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_db(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as db:
        yield db


SessionDep = Annotated[Session, Depends(get_db)]


def get_principal(request: Request, db: SessionDep, services: ServicesDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    admin = services.settings.admin_token
    principal = authenticate(db, token.strip(), admin.get_secret_value() if admin else None)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown, expired or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency allowing the given roles; admin may do whatever feed, ops and lead may."""
    allowed = set(roles)
    if allowed & {"feed", "ops", "lead"}:
        allowed.add("admin")

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role!r} may not do this (needs one of {sorted(allowed)})",
            )
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require("admin"))]
FeedDep = Annotated[Principal, Depends(require("feed"))]
ReaderDep = Annotated[Principal, Depends(require("ops", "lead"))]
ReporterDep = Annotated[Principal, Depends(require("reporter"))]
