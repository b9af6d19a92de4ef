"""One queue for SQLite's single write lock, shared by every connection and process.

SQLite lets one connection write at a time. A connection that finds the lock taken sleeps in
SQLite's busy handler, 1, 2, 5 ... then 100 ms between tries, so behind a bulk writer that
commits chunk after chunk (the sweeper's prediction rows) a claim loses race after race for a
tenth of a second or more, with the event loop waiting on it. Here a connection first takes an
advisory lock on a file beside the database before its first write, checking for it every
half millisecond, and drops it as soon as its transaction ends; background writers
(``polite``) also wait a moment before taking it again, so a waiting claim goes first,
and checkpoint the WAL once it is past SQLite's usual threshold -- after the lock is
released, never while a claim could be waiting for it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

WAIT_LIMIT_S = 10.0  # as long as SQLite's own busy timeout; after that SQLite decides
POLL_S = 0.0005
POLITE_PAUSE_S = 0.003  # a background writer's gap between transactions
#: WAL size past which a background writer checkpoints after its commit: SQLite's own
#: default threshold (1000 pages of 4 KiB), now reached outside the write lock.
CHECKPOINT_BYTES = 1000 * 4096
#: Copies what it can of the WAL into the database, waiting for no reader or writer.
PASSIVE_CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
#: A statement that writes: leading comments skipped; a WITH only when a write follows it.
_WRITES = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*"
    r"(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|WITH\b.*\b(?:INSERT|UPDATE|DELETE|REPLACE))\b",
    re.IGNORECASE | re.DOTALL,
)
_FD, _HELD, _RELEASED = "writers_fd", "writers_held", "writers_released"
_GAVE_UP = "gave up"  # _HELD's value when the wait ran out: writing without the lock


def _acquire(info: dict[str, Any], polite: bool) -> None:
    if polite:
        gap = POLITE_PAUSE_S - (time.perf_counter() - info.get(_RELEASED, 0.0))
        if gap > 0:
            time.sleep(gap)
    deadline = time.perf_counter() + WAIT_LIMIT_S
    while True:
        try:
            fcntl.flock(info[_FD], fcntl.LOCK_EX | fcntl.LOCK_NB)
            info[_HELD] = True
            return
        except BlockingIOError:
            if time.perf_counter() > deadline:
                log.warning(
                    "no turn at the SQLite write lock in %.0f s; writing anyway", WAIT_LIMIT_S
                )
                info[_HELD] = _GAVE_UP  # the rest of this transaction does not wait again
                return
            time.sleep(POLL_S)


def _release(info: dict[str, Any]) -> None:
    held = info.pop(_HELD, False)
    if held is True:
        fcntl.flock(info[_FD], fcntl.LOCK_UN)
    if held:
        info[_RELEASED] = time.perf_counter()


def _release_for(dbapi_connection: Any) -> None:
    """Release through a pooled connection's info (the engine's first connect passes a bare
    connection that has none, and holds nothing)."""
    try:
        info = dbapi_connection.info
    except (AttributeError, NotImplementedError):
        return
    _release(info)


def _checkpoint_if_large(dbapi_connection: Any, wal_path: str) -> None:
    """A passive checkpoint (it waits for no reader or writer) once the WAL has grown."""
    try:
        large = os.path.getsize(wal_path) > CHECKPOINT_BYTES
    except OSError:
        return
    if large:
        try:
            dbapi_connection.execute(PASSIVE_CHECKPOINT).close()
        except Exception:  # a failed checkpoint is retried after the next commit
            log.warning("WAL checkpoint failed", exc_info=True)


def queue_writers(engine: Engine, database_path: str, polite: bool) -> None:
    """Make ``engine``'s connections take their turn at the write lock (see the module)."""
    lock_path = f"{database_path}-writers"
    wal_path = f"{database_path}-wal"

    @event.listens_for(engine, "connect")
    def _open(_dbapi: Any, record: Any) -> None:
        record.info[_FD] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    @event.listens_for(engine, "close")
    def _close(_dbapi: Any, record: Any) -> None:
        _release(record.info)
        os.close(record.info.pop(_FD))

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(
        conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if not conn.info.get(_HELD) and _WRITES.match(statement):
            _acquire(conn.info, polite)

    # Release after SQLite has committed or rolled back, not before: the dialect's own hooks.
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _release_for(dbapi_connection)
        if polite:
            _checkpoint_if_large(dbapi_connection, wal_path)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _release_for(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
