"""Request id and next-case timing as a plain ASGI middleware (cheaper than BaseHTTPMiddleware)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worklist.logs import request_id_var

NEXT_PATH = "/api/v1/worklist/next"


class RequestContext:
    """Sets the request id (from X-Request-ID or a new one) for logs and the response header."""

    def __init__(self, app: ASGIApp, on_next: Callable[[float], None]) -> None:
        self.app = app
        self.on_next = on_next

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            if scope["path"] == NEXT_PATH:
                self.on_next(time.perf_counter() - started)
