"""A stop event set by SIGTERM/SIGINT, safely.

The handler runs in the main thread between bytecodes, possibly while that thread holds the
event's own lock inside ``Event.wait``; setting the event there deadlocks. So the handler sets
it from a short-lived thread instead.
"""

from __future__ import annotations

import signal
import threading


def stop_event(*signals: signal.Signals) -> threading.Event:
    """An event set when any of ``signals`` (default SIGTERM and SIGINT) arrives."""
    stop = threading.Event()
    for sig in signals or (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=stop.set).start())
    return stop
