"""Load the allocator's Lua scripts (allocator/lua/*.lua) and register them on a client.

Each script file is prefixed with ``_lib.lua`` (shared helpers that take key names as
parameters). Nothing is read at import time: ``Scripts(client)`` does the work.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any, Union

import redis
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

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


def _sha1(source: str) -> str:
    return hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


def script_sha(name: str) -> str:
    """The SHA1 Redis knows ``name`` by (EVALSHA, SCRIPT EXISTS, the slow log)."""
    return _sha1(script_source(name))


class Scripts:
    """The scripts of one client, by name; call as ``scripts.run("claim", keys, args)``."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._execute: Any = client.execute_command  # RedisCluster's is untyped
        self._source = {name: script_source(name) for name in _NAMES}
        self._sha = {name: _sha1(source) for name, source in self._source.items()}

    def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA the script (loading it on NOSCRIPT) and return Redis's reply.

        Sent with ``execute_command`` rather than redis-py's ``Script`` wrapper: on the claim
        path that wrapper's argument handling cost more CPU than the round trip.
        """
        try:
            return self._execute("EVALSHA", self._sha[name], len(keys), *keys, *args)
        except NoScriptError:
            self._client.script_load(self._source[name])
            return self._execute("EVALSHA", self._sha[name], len(keys), *keys, *args)
