"""Load the allocator's Lua scripts (allocator/lua/*.lua) and register them on a client.

Each script file is prefixed with ``_lib.lua`` (shared helpers that take key names as
parameters). Nothing is read at import time: ``Scripts(client)`` does the work.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Union

import redis
from redis.cluster import RedisCluster

RedisClient = Union[redis.Redis, RedisCluster]  # noqa: UP007 -- a runtime alias

_NAMES = (
    "snapshot",
    "commit",
    "start_session",
    "end_session",
    "enqueue",
    "claim",
    "complete",
    "requeue",
    "remove",
    "restage",
)


def script_source(name: str) -> str:
    """The full text sent to Redis for ``name``: the helper library, then the script."""
    lua = resources.files("allocator") / "lua"
    return (lua / "_lib.lua").read_text() + (lua / f"{name}.lua").read_text()


class Scripts:
    """The registered scripts of one client; call as ``scripts.claim(keys, args)``."""

    def __init__(self, client: RedisClient) -> None:
        self._scripts: dict[str, Any] = {
            name: client.register_script(script_source(name)) for name in _NAMES
        }

    def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA the script (loading it on NOSCRIPT) and return Redis's reply."""
        return self._scripts[name](keys=keys, args=args)
