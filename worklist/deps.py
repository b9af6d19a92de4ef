"""FastAPI dependencies: services, a database session, the calling principal, role checks.

The cheap ones are ``async`` so they run on the event loop instead of costing a threadpool hop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from dashboards.metrics import Metrics
from worklist.auth.tokens import Principal, is_admin_token, lookup
from worklist.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


async def get_db(services: ServicesDep) -> AsyncIterator[Session]:
    """A session per request; it connects lazily, on first use in the endpoint's thread."""
    db = Session(services.engine, expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()  # endpoints commit, so this only returns an idle connection to the pool


SessionDep = Annotated[Session, Depends(get_db)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def _lookup_fresh(services: Services, token: str) -> Principal | None:
    with Session(services.engine) as db:
        found = lookup(db, token)
    if found is None:
        return None
    services.tokens.put(token, *found)
    return found[0]


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    return await principal_from_header(services, request.headers.get("authorization", ""))


async def principal_from_header(services: Services, header: str) -> Principal:
    """Who a bearer ``Authorization`` header names; 401 when nobody."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    admin = services.settings.admin_token
    if admin is not None and is_admin_token(token, admin.get_secret_value()):
        return Principal(role="admin")
    principal = services.tokens.get(token)
    if principal is None:
        principal = await run_in_threadpool(_lookup_fresh, services, token)
    if principal is None:
        raise _unauthorized("unknown, expired or revoked token")
    return principal


def check_role(principal: Principal, allowed: frozenset[str] | set[str]) -> Principal:
    """The principal when its role is allowed; 403 otherwise."""
    if principal.role not in allowed:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"role {principal.role!r} may not do this (needs one of {sorted(allowed)})",
        )
    return principal


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency allowing the given roles; admin may do whatever feed, ops and lead may."""
    allowed = set(roles)
    if allowed & {"feed", "ops", "lead"}:
        allowed.add("admin")

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return check_role(principal, allowed)

    check.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]  # read by the auth tests
    return check


AdminDep = Annotated[Principal, Depends(require("admin"))]
FeedDep = Annotated[Principal, Depends(require("feed"))]
ReaderDep = Annotated[Principal, Depends(require("ops", "lead"))]
ReporterDep = Annotated[Principal, Depends(require("reporter"))]
