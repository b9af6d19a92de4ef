"""Keep cached tokens fresh in the background: one query every quarter of the cache's life
instead of a lookup on the request path whenever an entry runs out (tokens cached together
would otherwise run out together, and a whole second of pulls would queue behind them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime

from anyio import to_thread
from sqlmodel import Session

from worklist.auth.tokens import Principal, lookup_hashes
from worklist.services import Services

log = logging.getLogger(__name__)


def refresh_tokens(services: Services) -> tuple[int, int]:
    """One refresh of the token cache: (kept, dropped)."""

    def lookup_many(hashes: Iterable[str]) -> dict[str, tuple[Principal, datetime | None]]:
        with Session(services.engine) as db:
            return lookup_hashes(db, hashes)

    return services.tokens.refresh(lookup_many)


async def keep_tokens_fresh(services: Services, stop: asyncio.Event) -> None:
    """Refresh until stopped. A failure is logged and the entries simply age out, so requests
    fall back to their own lookups (which answer 503 while the database is away)."""
    while not stop.is_set():
        interval = services.tokens.ttl / 4  # due at half life, so refreshed before the end
        try:
            await to_thread.run_sync(refresh_tokens, services)
        except Exception:
            log.warning("token cache refresh failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
