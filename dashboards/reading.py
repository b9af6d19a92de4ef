"""A read-only connection tuned for aggregate queries over many rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

# Percentiles sort every duration of a group: with PostgreSQL's default 4 MB a month of
# studies spills to disk. JIT compilation costs more than it saves on queries this short.
PG_SETTINGS = ("SET LOCAL work_mem = '128MB'", "SET LOCAL jit = off")


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back at the end (it only reads)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            for statement in PG_SETTINGS:
                conn.exec_driver_sql(statement)
        try:
            yield conn
        finally:
            conn.rollback()
