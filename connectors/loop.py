"""The poll-sleep loop every polling connector runs, stoppable for tests and signals."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from connectors.delivery import DeliveryError
from connectors.jsonlog import log


def run_every(
    interval: float,
    step: Callable[[], object],
    stop: threading.Event,
    *,
    name: str,
    max_backoff: float = 300.0,
) -> None:
    """Call ``step`` every ``interval`` seconds until ``stop`` is set.

    A step that fails (the PACS or the service unreachable) is logged and retried with a
    growing wait; the connector never exits on a transient failure.
    """
    wait = interval
    while not stop.is_set():
        try:
            step()
        except (DeliveryError, httpx.HTTPError, OSError, ValueError) as exc:
            wait = min(max(wait * 2, interval, 1.0), max_backoff)
            log(
                "poll_failed",
                level=40,
                connector=name,
                error=f"{type(exc).__name__}: {exc}",
                retry_in_s=round(wait, 1),
            )
        else:
            wait = interval
        stop.wait(wait)
