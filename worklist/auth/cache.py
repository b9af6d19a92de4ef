"""A short-lived in-process cache of token lookups: the hot path skips one query per call.

A revoked or expired token stops working within ``ttl`` seconds on every replica (at once on
the replica that revoked it). ``refresh`` re-checks every entry past half its life in one
query, so entries in use never expire together: otherwise every reporter's token, cached in
the same second, falls out in the same second and each request pays its own lookup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from worklist.auth.tokens import Principal, hash_token

#: Looks up token hashes: each one still valid maps to its principal and expiry.
LookupMany = Callable[[Iterable[str]], dict[str, tuple[Principal, datetime | None]]]


class TokenCache:
    def __init__(
        self,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal, datetime | None]] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        return self._ttl

    def get(self, token: str) -> Principal | None:
        key = hash_token(token)
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            return None
        stored_at, principal, expires_at = found
        if self._clock() - stored_at > self._ttl or (
            expires_at is not None and expires_at <= datetime.now(UTC)
        ):
            with self._lock:
                self._entries.pop(key, None)
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: datetime | None) -> None:
        self._store(hash_token(token), principal, expires_at)

    def _store(self, key: str, principal: Principal, expires_at: datetime | None) -> None:
        with self._lock:
            if len(self._entries) >= self._max and key not in self._entries:
                self._entries.clear()
            self._entries[key] = (self._clock(), principal, expires_at)

    def refresh(self, lookup_many: LookupMany) -> tuple[int, int]:
        """Re-check every entry past half its life in one lookup: still valid ones start a new
        life, revoked, expired or deleted ones go. Returns (kept, dropped)."""
        now = self._clock()
        with self._lock:
            due = [k for k, v in self._entries.items() if now - v[0] > self._ttl / 2]
        if not due:
            return 0, 0
        valid = lookup_many(due)
        for key in due:
            if key in valid:
                self._store(key, *valid[key])
            else:
                with self._lock:
                    self._entries.pop(key, None)
        return len(valid), len(due) - len(valid)

    def forget_token_id(self, token_id: int) -> None:
        with self._lock:
            for key in [k for k, v in self._entries.items() if v[1].token_id == token_id]:
                del self._entries[key]
