"""`POST /worklist/next` and `POST /assignments/{id}/complete` answered below FastAPI's router.

These two calls are most of a busy network's traffic. A profile of one SQLite worker at 300
pulls a second put about a quarter of its busy time in FastAPI and Starlette (matching a path
against every route, solving four dependencies, building the request) for calls that take no
body and no parameters beyond the path. This middleware matches the two paths itself, checks
the bearer token the same way the dependencies do (``deps.principal_from_header``,
``deps.check_role``), calls the same endpoint functions, and maps errors through the app's own
exception handlers, so answers are byte-for-byte those of the routed endpoints. The routes stay
declared on the router for OpenAPI, and the routed versions answer when this is not installed.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from worklist.deps import check_role, principal_from_header
from worklist.reporting.endpoints import post_complete, post_next

_HOT = re.compile(r"^/api/v1/(?:worklist/(next)|assignments/([^/]+)/complete)$")
_REPORTER = frozenset({"reporter"})


class ReporterHotPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (
            _HOT.match(_route_path(scope))
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        try:
            response = await self._answer(app.state, scope, found)
        except Exception as error:
            handler = _handler_for(app.exception_handlers, error)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), error)
        await response(scope, receive, send)

    @staticmethod
    async def _answer(state: Any, scope: Scope, found: re.Match[str]) -> Any:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        principal = check_role(
            await principal_from_header(state.services, header.decode("latin-1")), _REPORTER
        )
        if found.group(1):
            return await post_next(state.services, state.metrics, principal)
        return await post_complete(found.group(2), state.services, state.metrics, principal)


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the ``root_path`` a proxy mounted us under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _handler_for(handlers: dict[Any, Any], error: Exception) -> Any:
    """The app's handler for this exception's class or its nearest base. (Handlers keyed by
    status code are not consulted: the app registers none.)"""
    for cls in type(error).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
