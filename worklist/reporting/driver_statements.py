"""The hot path's usual PostgreSQL statements, run on psycopg's cursor instead of through
SQLAlchemy's execute.

Why: SQLAlchemy's execute (parameter processing, the cursor result, its metadata and Row)
costs more CPU than psycopg spends running the statement. For the assignment lookup (34
columns back) ``python -m load_tests.bench_hot_path_cpu`` measured 382 µs of CPU through
SQLAlchemy against 173 µs here, bare psycopg 140 µs (docs/load.md §1, fifth session). These
are the product's most frequent statements.

What stays SQLAlchemy's: the statement is compiled by SQLAlchemy's PostgreSQL dialect, its
parameters go through the column types' bind processors (``UTCDateTime`` stores naive UTC,
JSON goes as psycopg's ``Json``), its values come back through their result processors (an
aware UTC datetime), it runs on the pool's own connection, a psycopg error is wrapped as
SQLAlchemy wraps it (OperationalError is the app's 503) and a dropped connection is
invalidated, and engine-level ``before_cursor_execute`` / ``after_cursor_execute`` listeners
still see it.

Where it differs from SQLAlchemy's execute: listeners get no execution context
(``context=None``) and a ``retval=True`` listener cannot rewrite the statement; no
``handle_error`` listeners run; a dropped connection invalidates that connection, not the
whole pool (with the asyncio pool, each of its connections is found dropped on its own next
use); a bind processor's own error (a naive datetime) is raised as it is, not as
``StatementError``; row keys are the selected columns' keys. It refuses to run on a
connection outside autocommit: nothing would commit the statement's writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

Processor = Callable[[Any], Any]


class Record:
    """One row as a mapping (``_mapping``) with attribute access, as a SQLAlchemy Row has."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy and pickle probe before _mapping is set
            raise AttributeError(name)
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class DriverStatement:
    """One SELECT (data-modifying CTEs included) compiled once for psycopg."""

    statement: Select[Any]
    _compiled: Any = field(default=None, init=False, repr=False)
    _binds: dict[str, Processor] = field(default_factory=dict, init=False, repr=False)
    _names: tuple[str, ...] = field(default=(), init=False, repr=False)
    _results: tuple[Processor | None, ...] | None = field(default=None, init=False, repr=False)

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Record | None:
        """Run on ``conn``'s psycopg connection (autocommit: the caller's choice) and return
        the first row, or None when the statement returned none."""
        text, values = self._prepared(conn.dialect, params)
        pooled = conn.connection
        driver: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
        _check_autocommit(driver.autocommit)
        try:
            with driver.cursor() as cursor:
                _announce(conn, "before_cursor_execute", cursor, text, values)
                cursor.execute(text, values)
                row = cursor.fetchone()
                _announce(conn, "after_cursor_execute", cursor, text, values)
                return self._record(conn.dialect, row, cursor)
        except psycopg.Error as error:
            dropped = _dropped(conn.dialect, pooled, error)
            if dropped:
                conn.invalidate(error)
            raise _wrapped(conn, error, text, values, dropped) from error
        except (KeyboardInterrupt, SystemExit):  # mid-statement: its state is unknown
            conn.invalidate()
            raise

    async def first_async(self, aconn: AsyncConnection, params: Mapping[str, Any]) -> Record | None:
        """As ``first``, on a connection of the asyncio pool (``db.make_hot_engine``): the
        worker's other requests go on while this one waits for PostgreSQL."""
        conn = aconn.sync_connection
        assert conn is not None  # an AsyncConnection in use has its sync side
        text, values = self._prepared(conn.dialect, params)
        pooled = await aconn.get_raw_connection()
        driver: psycopg.AsyncConnection[Any] = pooled.driver_connection  # type: ignore[assignment]
        _check_autocommit(driver.autocommit)
        try:
            async with driver.cursor() as cursor:
                _announce(conn, "before_cursor_execute", cursor, text, values)
                await cursor.execute(text, values)
                row = await cursor.fetchone()
                _announce(conn, "after_cursor_execute", cursor, text, values)
                return self._record(conn.dialect, row, cursor)
        except psycopg.Error as error:
            dropped = _dropped(conn.dialect, pooled, error)
            if dropped:
                await aconn.invalidate(error)
            raise _wrapped(conn, error, text, values, dropped) from error
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            await aconn.invalidate()  # cancelled mid-statement: its state is unknown
            raise

    def _prepared(self, dialect: Any, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The statement's text and every bind (its literals too) through its type's
        processor."""
        if self._compiled is None:
            self._compile(dialect)
        values: dict[str, Any] = self._compiled.construct_params(params)
        for name, process in self._binds.items():
            values[name] = process(values[name])
        return self._compiled.string, values

    def _record(self, dialect: Any, row: Any, cursor: Any) -> Record | None:
        if row is None:
            return None
        if self._results is None:  # psycopg builds ``description`` anew on each access
            self._results = self._result_processors(dialect, cursor.description or [])
        return Record(
            {
                name: value if process is None else process(value)
                for name, process, value in zip(self._names, self._results, row, strict=True)
            }
        )

    def _compile(self, dialect: Any) -> None:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a statement with Python-side column defaults needs SQLAlchemy")
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("a statement with expanding or literal-execute binds needs SQLAlchemy")
        names = tuple(str(column.key) for column in self.statement.selected_columns)
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate result column names in {names}")
        self._binds = {
            name: process
            for bind, name in compiled.bind_names.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self._names = names
        self._compiled = compiled

    def _result_processors(self, dialect: Any, description: Any) -> tuple[Processor | None, ...]:
        """Each column's result processor, for the type codes this server sends."""
        columns = list(self.statement.selected_columns)
        return tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, described.type_code)
            for column, described in zip(columns, description, strict=True)
        )


def _announce(conn: Connection, event: str, cursor: Any, text: str, values: Any) -> None:
    """Fire an engine-level cursor event, as SQLAlchemy's execute does (no context)."""
    if conn._has_events or conn.engine._has_events:
        getattr(conn.dispatch, event)(conn, cursor, text, values, None, False)


def _check_autocommit(autocommit: bool) -> None:
    if not autocommit:
        raise RuntimeError(
            "a hot-path statement on a connection outside autocommit: its writes would be "
            "rolled back when the connection goes back to the pool"
        )


def _dropped(dialect: Any, pooled: Any, error: psycopg.Error) -> bool:
    """Whether the connection is gone: then it is invalidated, as SQLAlchemy does, so the pool
    replaces it without a reset on return that would fail and log."""
    return bool(dialect.is_disconnect(error, pooled, None))


def _wrapped(
    conn: Connection, error: psycopg.Error, text: str, values: dict[str, Any], dropped: bool
) -> BaseException:
    """The error as SQLAlchemy would raise it (OperationalError is the app's 503)."""
    return DBAPIError.instance(
        text,
        values,
        error,
        psycopg.Error,
        hide_parameters=conn.engine.hide_parameters,
        connection_invalidated=dropped,
        dialect=conn.dialect,
    )
