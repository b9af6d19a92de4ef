"""Work repeated in a thread off the event loop until the app stops: the sweeper and the
token-cache refresh. A failing round is logged, never fatal; the next one runs on time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TypeVar

from anyio import to_thread

log = logging.getLogger(__name__)
T = TypeVar("T")


async def repeat_in_thread(
    work: Callable[[], T],
    stop: asyncio.Event,
    interval: Callable[[], float],
    what: str,
    on_result: Callable[[T], None] | None = None,
) -> None:
    """Run ``work`` in a worker thread, then wait ``interval()`` seconds or until ``stop``."""
    while not stop.is_set():
        try:
            result = await to_thread.run_sync(work)
            if on_result is not None:
                on_result(result)
        except Exception:
            log.exception("%s failed", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval())
