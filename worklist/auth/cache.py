"""A short-lived in-process cache of token lookups: the hot path skips one query per call.

A revoked or expired token stops working within ``ttl`` seconds on every replica (at once on
the replica that revoked it). ``refresh`` re-checks, in one query, every entry past half its
life that was used within its life, so tokens in use never expire together: otherwise every
reporter's token, cached in the same second, falls out in the same second and each request
pays its own lookup. Tokens nobody uses are left to run out.
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
        self._used: dict[str, float] = {}  # when each entry was last read
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
        now = self._clock()
        if now - stored_at > self._ttl or (
            expires_at is not None and expires_at <= datetime.now(UTC)
        ):
            with self._lock:
                self._entries.pop(key, None)
            return None
        self._used[key] = now
        return principal

    def put(self, token: str, principal: Principal, expires_at: datetime | None) -> None:
        key, now = hash_token(token), self._clock()
        with self._lock:
            if len(self._entries) >= self._max and key not in self._entries:
                self._entries.clear()
                self._used.clear()
            self._entries[key] = (now, principal, expires_at)
            self._used[key] = now

    def refresh(self, lookup_many: LookupMany) -> tuple[int, int]:
        """Re-check in one lookup every entry past half its life and used within its life:
        still valid ones start a new life from the moment of the lookup; revoked, expired or
        deleted ones go. An entry forgotten or replaced meanwhile is left as it now is (a
        revocation on this replica must not be undone). Returns (kept, dropped)."""
        started = self._clock()
        with self._lock:
            stale = [k for k, v in self._entries.items() if started - v[0] > self._ttl / 2]
            idle = [k for k in stale if started - self._used.get(k, 0.0) > self._ttl]
            for key in idle:
                self._entries.pop(key, None)
                self._used.pop(key, None)
            due = {k: self._entries[k] for k in stale if k in self._entries}
        if not due:
            return 0, 0
        valid = lookup_many(list(due))
        with self._lock:
            for key, seen in due.items():
                if self._entries.get(key) is not seen:
                    continue  # forgotten or re-stored while we looked
                if key in valid:
                    self._entries[key] = (started, *valid[key])
                else:
                    del self._entries[key]
        kept = sum(1 for k in due if k in valid)
        return kept, len(due) - kept

    def forget_token_id(self, token_id: int) -> None:
        with self._lock:
            for key in [k for k, v in self._entries.items() if v[1].token_id == token_id]:
                del self._entries[key]
                self._used.pop(key, None)
