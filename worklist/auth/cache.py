"""A short-lived in-process cache of token lookups: the hot path skips one query per call.

A revoked or expired token stops working within ``ttl`` seconds on every replica (at once on
the replica that revoked it).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from worklist.auth.tokens import Principal, hash_token


class TokenCache:
    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, Principal, datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        key = hash_token(token)
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            return None
        stored_at, principal, expires_at = found
        if time.monotonic() - stored_at > self._ttl or (
            expires_at is not None and expires_at <= datetime.now(UTC)
        ):
            with self._lock:
                self._entries.pop(key, None)
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: datetime | None) -> None:
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[hash_token(token)] = (time.monotonic(), principal, expires_at)

    def forget_token_id(self, token_id: int) -> None:
        with self._lock:
            for key in [k for k, v in self._entries.items() if v[1].token_id == token_id]:
                del self._entries[key]
