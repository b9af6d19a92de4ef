"""Answer 503 with a JSON body when the database or Redis cannot be reached.

A brief outage (a PostgreSQL restart, a Redis failover) should tell clients to retry, not
look like a bug (500). Connections are re-established by the pools on the next request.
"""

from __future__ import annotations

import logging

import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def _answer(component: str, error: Exception) -> JSONResponse:
    log.warning("%s unavailable: %s", component, type(error).__name__)
    return JSONResponse(
        {"detail": f"the {component} is unavailable; retry shortly", "unavailable": component},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _database(_: Request, error: Exception) -> JSONResponse:
    return _answer("database", error)


async def _redis(_: Request, error: Exception) -> JSONResponse:
    return _answer("allocator store (Redis)", error)


def install_unavailable_handlers(app: FastAPI) -> None:
    """Map unreachable-database and unreachable-Redis errors to 503."""
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(PoolTimeout, _database)
    app.add_exception_handler(redis.ConnectionError, _redis)
    app.add_exception_handler(redis.TimeoutError, _redis)
