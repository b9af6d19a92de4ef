"""Serve the app inside this process (demo, benchmarks, tests) and wait until it is ready."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Poll /readyz until it answers 200 (database and Redis reachable)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the service at {url} did not become ready in {timeout:.0f}s")


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the main thread keeps Ctrl-C
        pass


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[str]:
    """Run uvicorn in a daemon thread; yields the base URL once ready, stops on exit."""
    port = port or free_port()
    server = _ThreadServer(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
