"""JSON log lines, so an operator's log shipper can index every connector event."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_LOGGER_NAME = "connectors"


def log(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Write one JSON object as the log message: ``{"ts", "level", "event", ...fields}``."""
    record = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": logging.getLevelName(level).lower(),
        "event": event,
        **fields,
    }
    message = orjson.dumps(record, default=str).decode()
    logging.getLogger(_LOGGER_NAME).log(level, message)


def configure(level: str = "INFO") -> None:
    """Send connector log lines to stderr, one JSON object a line (used by the CLI only)."""
    logger = logging.getLogger(_LOGGER_NAME)
    if not any(getattr(h, "_connectors_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._connectors_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
