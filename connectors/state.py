"""Durable connector state: a cursor file written atomically, and a quarantine of refused input.

A connector saves its cursor only after the API has answered for the items before it, so a
crash at any point resends at most the last unconfirmed batch (ingest is idempotent on the
study uid / site + accession) and never skips anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from connectors.jsonlog import log

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    """A file-name-safe version of a connector or site name."""
    return _SAFE.sub("_", text).strip("_") or "default"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see either the old or the new content, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StateFile:
    """One connector's cursor: a JSON object saved atomically under the state dir."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.path = Path(state_dir) / f"{safe_name(name)}.json"

    def load(self) -> dict[str, Any]:
        """The saved state, or an empty one on the first run."""
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except orjson.JSONDecodeError as exc:
            # A corrupt cursor must not silently restart a backfill from zero: keep it aside.
            broken = self.path.with_suffix(f".corrupt-{int(datetime.now(UTC).timestamp())}")
            os.replace(self.path, broken)
            log(
                "state_corrupt", level=40, path=str(self.path), moved_to=str(broken), error=str(exc)
            )
            return {}
        if not isinstance(data, dict):
            return {}
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Replace the saved state (atomic, fsynced)."""
        atomic_write_bytes(self.path, orjson.dumps(data, option=orjson.OPT_SORT_KEYS))


class Quarantine:
    """Refused input kept for a person to look at: one JSON record per item, with the reason."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / "quarantine"

    def add(self, source: str, reason: str, item: Any = None, **details: Any) -> Path:
        """Record one refused item and log it; returns the record's path."""
        now = datetime.now(UTC)
        record = {
            "at": now.isoformat(timespec="milliseconds"),
            "source": source,
            "reason": reason,
            **details,
            "item": item,
        }
        body = orjson.dumps(record, default=str, option=orjson.OPT_INDENT_2)
        digest = hashlib.sha256(body).hexdigest()[:12]
        path = self.dir / f"{now.strftime('%Y%m%dT%H%M%S%f')}-{safe_name(source)}-{digest}.json"
        atomic_write_bytes(path, body)
        log("quarantined", level=30, source=source, reason=reason, record=str(path), **details)
        return path

    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first (for tests and the operator)."""
        if not self.dir.exists():
            return []
        out: list[dict[str, Any]] = []
        for path in sorted(self.dir.glob("*.json")):
            out.append(orjson.loads(path.read_bytes()))
        return out
