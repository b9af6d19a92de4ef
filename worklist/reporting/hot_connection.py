"""The database connection of a claim, completion or hand-back: one flow over both databases.

The three run on the event loop (endpoints.py says why), by default on the loop's one
blocking connection: a request waiting on the database holds up every other request on that
worker. With ``hot_path_connections`` > 0, PostgreSQL's statements go through an asyncio
pool of that many connections per worker instead, so the others go on (a row lock or a slow
commit stalls one request, not the worker). It is not the default because on the 2-core load
test it cost the API workers 15-20 % more CPU (SQLAlchemy's asyncio layer) and the tail got
no better (docs/load.md, §1, third session); with the usual statements on psycopg's own
``AsyncConnection`` (``driver_statements``) it still answered no more requests than the
blocking connection (fifth session). With the database on another host, where every round
trip waits longer, the balance may differ. SQLite always keeps its one connection and plain calls:
it has one writer, so there is nothing to overlap.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, Executable, Result, Select
from sqlalchemy.ext.asyncio import AsyncConnection

from worklist.reporting.driver_statements import DriverStatement
from worklist.services import Services

T = TypeVar("T")


class HotConnection:
    """Awaitable statements over a plain or an asyncio SQLAlchemy connection."""

    def __init__(self, conn: Connection | AsyncConnection, autocommit: bool = False) -> None:
        self._conn = conn
        self._autocommit = autocommit
        self.dialect = conn.dialect.name

    async def execute(self, statement: Executable, params: Mapping[str, Any]) -> Result[Any]:
        if isinstance(self._conn, AsyncConnection):
            return await self._conn.execute(statement, params)
        return self._conn.execute(statement, params)

    async def first(self, statement: Select[Any], params: Mapping[str, Any]) -> Any:
        """The first row of one of the hot path's usual statements, or None: on psycopg's
        cursor (``driver_statements``, a fraction of SQLAlchemy's CPU) when this is a
        PostgreSQL connection in autocommit, through SQLAlchemy otherwise."""
        if self._autocommit and self.dialect == "postgresql":
            driven = _driver_statement(statement, self._conn.dialect.driver)
            if isinstance(self._conn, AsyncConnection):
                return await driven.first_async(self._conn, params)
            return driven.first(self._conn, params)
        return (await self.execute(statement, params)).first()

    async def run_sync(self, work: Callable[[Connection], T]) -> T:
        """Run code written for a plain connection (the rare paths) on this one."""
        if isinstance(self._conn, AsyncConnection):
            return await self._conn.run_sync(work)
        return work(self._conn)

    async def commit(self) -> None:
        if isinstance(self._conn, AsyncConnection):
            await self._conn.commit()
        else:
            self._conn.commit()

    async def rollback(self) -> None:
        if isinstance(self._conn, AsyncConnection):
            await self._conn.rollback()
        else:
            self._conn.rollback()

    async def begin_transactions(self) -> None:
        """Leave autocommit (PostgreSQL's connections start in it: the usual statements are
        each a transaction of their own) for the rare paths of several statements, which
        ``commit`` ends; the pool puts the connection back in autocommit on its return."""
        if not self._autocommit:
            return
        self._autocommit = False
        level = self._conn.default_isolation_level
        if isinstance(self._conn, AsyncConnection):
            await self._conn.execution_options(isolation_level=level)
        else:
            self._conn.execution_options(isolation_level=level)


@functools.cache
def _driver_statement(statement: Select[Any], driver: str) -> DriverStatement:
    """The statement compiled for this psycopg dialect (blocking or asyncio), once per
    process: the statements are module constants."""
    return DriverStatement(statement)


@contextlib.asynccontextmanager
async def hot_connection(services: Services) -> AsyncIterator[HotConnection]:
    """A connection for one request's claim, completion or hand-back."""
    if services.hot_engine is not None:
        async with services.hot_engine.connect() as aio:
            yield HotConnection(aio, autocommit=True)  # the pool's connections start so
    else:
        with services.loop_engine.connect() as conn:
            # PostgreSQL's loop connection is kept in autocommit (db.make_loop_engine)
            yield HotConnection(conn, autocommit=conn.dialect.name == "postgresql")
