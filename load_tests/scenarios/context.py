"""What every simulated user needs from the runner: tokens, written to a JSON file.

The runner seeds the service and writes ``WORKLIST_LOAD_CONTEXT``; users read it lazily on
start (nothing happens at import time).
"""

from __future__ import annotations

import itertools
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

ENV = "WORKLIST_LOAD_CONTEXT"
_counter = itertools.count()


@cache
def context() -> dict[str, Any]:
    """``{"reporters": [token, ...], "feed": token, "ops": token, "lead": token,
    "sites": [...]}``."""
    path = os.environ.get(ENV)
    if not path:
        raise RuntimeError(f"{ENV} is not set: run the load through load_tests/run_load.py")
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def next_reporter_token() -> str:
    """Each reporter user takes the next reporter's token (one user per reporter)."""
    tokens: list[str] = context()["reporters"]
    return tokens[next(_counter) % len(tokens)]


def reconnect(user: Any) -> None:
    """Drop a FastHttpUser's pooled connections before a request that follows a long idle.

    The server closes keep-alive connections idle for 5 s (uvicorn's default). A POST sent on
    a connection the server is closing fails and is not retried, so clients that idle that
    long reconnect first, as browsers do.
    """
    user.client.client.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
