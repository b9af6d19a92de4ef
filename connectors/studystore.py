"""SQLite store of study headers merged from instances, with what was last delivered.

Used by the C-STORE SCP, where a JSON file rewritten per study would not scale: each received
study is one row, written (and committed) before the C-STORE is answered.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from connectors.accumulate import merge_instance
from connectors.state import safe_name

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    uid TEXT PRIMARY KEY,
    attrs BLOB NOT NULL,
    version INTEGER NOT NULL,
    sent_version INTEGER NOT NULL DEFAULT 0,
    sent_digest TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS studies_dirty ON studies (sent_version, version);
"""


class StudyStore:
    """Durable per-study headers; thread-safe (one connection behind a lock)."""

    def __init__(self, state_dir: Path, name: str) -> None:
        path = Path(state_dir) / f"{safe_name(name)}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def merge(self, uid: str, attrs: dict[str, Any]) -> bool:
        """Fold an instance into its study; True (and committed) when the study changed."""
        with self._lock:
            row = self._db.execute("SELECT attrs FROM studies WHERE uid = ?", (uid,)).fetchone()
            study: dict[str, Any] = orjson.loads(row[0]) if row else {}
            if not merge_instance(study, attrs):
                return False
            blob = orjson.dumps(study)
            self._db.execute(
                "INSERT INTO studies (uid, attrs, version, updated_at) VALUES (?, ?, 1, ?) "
                "ON CONFLICT(uid) DO UPDATE SET attrs = excluded.attrs, "
                "version = studies.version + 1, updated_at = excluded.updated_at",
                (uid, blob, time.time()),
            )
            return True

    def dirty(self, limit: int = 10_000) -> list[tuple[str, dict[str, Any], int, str | None]]:
        """Studies changed since last delivered: (uid, attrs, version, last sent digest)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT uid, attrs, version, sent_digest FROM studies "
                "WHERE sent_version < version ORDER BY updated_at LIMIT ?",
                (limit,),
            ).fetchall()
        return [(r[0], orjson.loads(r[1]), int(r[2]), r[3]) for r in rows]

    def mark_sent(self, uid: str, version: int, digest: str | None) -> None:
        """Record that ``version`` of a study was answered for by the service."""
        with self._lock:
            self._db.execute(
                "UPDATE studies SET sent_version = ?, sent_digest = COALESCE(?, sent_digest) "
                "WHERE uid = ?",
                (version, digest, uid),
            )

    def prune(self, older_than_seconds: float) -> int:
        """Forget delivered studies not touched for a while (a late instance re-creates one)."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM studies WHERE sent_version >= version AND updated_at < ?",
                (time.time() - older_than_seconds,),
            )
            return cur.rowcount

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM studies").fetchone()[0])
