"""Shared fixtures: a real Redis (local server or embedded) emptied per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from allocator.connection import EmbeddedRedis, connect


def _local_redis_url() -> str | None:
    """The Redis to test against: WORKLIST_TEST_REDIS_URL, else a local server if one answers."""
    url = os.environ.get("WORKLIST_TEST_REDIS_URL")
    if url:
        return url
    try:
        probe = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.2)
        probe.ping()
        probe.close()
        return "redis://127.0.0.1:6379/9"
    except redis.RedisError:
        return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _local_redis_url()
    if url is not None:
        yield url
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = connect(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
