"""Keep cached tokens fresh in the background: one query every quarter of the cache's life
instead of a lookup on the request path whenever an entry runs out (tokens cached together
would otherwise run out together, and a whole second of pulls would queue behind them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from worklist.auth.tokens import Principal, lookup_hashes
from worklist.background import repeat_in_thread
from worklist.services import Services


def refresh_tokens(services: Services) -> tuple[int, int]:
    """One refresh of the token cache: (kept, dropped)."""

    def lookup_many(hashes: Iterable[str]) -> dict[str, tuple[Principal, datetime | None]]:
        with Session(services.engine) as db:
            return lookup_hashes(db, hashes)

    return services.tokens.refresh(lookup_many)


async def keep_tokens_fresh(services: Services, stop: asyncio.Event) -> None:
    """Refresh until stopped, every quarter of the cache's life (entries are due at half
    life, so they are renewed before the end). A failure leaves the entries to age out, and
    requests fall back to their own lookups (which answer 503 while the database is away)."""
    await repeat_in_thread(
        lambda: refresh_tokens(services), stop, lambda: services.tokens.ttl / 4, "token refresh"
    )
