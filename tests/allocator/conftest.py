"""Allocator fixtures: an Allocator on the per-test emptied real Redis."""

from __future__ import annotations

import pytest
import redis

from allocator.engine import Allocator


@pytest.fixture
def alloc(redis_client: redis.Redis) -> Allocator:
    return Allocator(redis_client, "wm")
