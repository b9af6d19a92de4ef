"""The reporter hot path answers `next` and `complete` itself, and exactly as the routed
endpoints would: same statuses, bodies and auth headers, for successes and for every error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from load_tests.private_redis import PrivateRedis
from tests.conftest import ADMIN_TOKEN, bearer, mint
from tests.worklist.helpers import reporter, setup_network, study
from worklist.app import create_app
from worklist.reporting import hot_path
from worklist.settings import Settings

Call = Callable[[TestClient], Any]


@pytest.fixture
def routed(settings: Settings) -> Iterator[TestClient]:
    """The same app with the hot path taken out: every call goes through FastAPI's router."""
    app = create_app(settings, run_sweeper_task=False)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not hot_path.ReporterHotPath]
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as test_client:
        yield test_client


def _answers(client: TestClient, tag: str) -> list[tuple[str, int, Any, str | None]]:
    """A reporter's life through next and complete, with every kind of refusal on the way
    (``tag`` names the reporter and study: both apps share one database)."""
    setup_network(client)
    me = reporter(client, f"r-{tag}")
    ops = bearer(mint(client, "ops"))
    calls: list[tuple[str, dict[str, str] | None, str]] = [
        ("no token", {"Authorization": ""}, "/api/v1/worklist/next"),
        ("not bearer", {"Authorization": "Basic abc"}, "/api/v1/worklist/next"),
        ("unknown token", bearer("wl_nobody"), "/api/v1/worklist/next"),
        ("admin", None, "/api/v1/worklist/next"),
        ("ops", ops, "/api/v1/worklist/next"),
        ("no session", me, "/api/v1/worklist/next"),
        ("complete unknown", me, "/api/v1/assignments/nope/complete"),
    ]
    answers = [_call(client, name, headers, path) for name, headers, path in calls]
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    answers.append(_call(client, "nothing waiting", me, "/api/v1/worklist/next"))
    client.post("/api/v1/studies", json=[study(f"1.2.{tag}")])
    claimed = client.post("/api/v1/worklist/next", headers=me)
    assert claimed.status_code == 200, (claimed.status_code, claimed.text)
    body = claimed.json()
    answers.append(("claim", claimed.status_code, _stable(body), None))
    path = f"/api/v1/assignments/{body['assignment_id']}/complete"
    answers.append(_call(client, "complete", me, path))
    answers.append(_call(client, "complete again", me, path))
    return answers


def _call(
    client: TestClient, name: str, headers: dict[str, str] | None, path: str
) -> tuple[str, int, Any, str | None]:
    response = client.post(path, headers=headers)
    body = response.json() if response.content else None
    return name, response.status_code, _stable(body), response.headers.get("www-authenticate")


def _stable(body: Any) -> Any:
    """The answer without what differs between the two runs: ids, and the reason's figures
    (scores count from the moment of the claim); the reason keeps its shape."""
    if not isinstance(body, dict):
        return body
    drop = {"assignment_id", "study_uid", "accession", "assignee", "reported_by"}
    return {
        k: sorted(v) if k == "reason" else _stable(v)
        for k, v in body.items()
        if k not in drop and not k.endswith("_at")
    }


def test_the_hot_path_answers_as_the_router_does(
    client: TestClient, routed: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    for name in ("post_next", "post_complete"):
        original = getattr(hot_path, name)

        def spy(*args: Any, _original: Any = original, _name: str = name) -> Any:
            taken.append(_name)
            return _original(*args)

        monkeypatch.setattr(hot_path, name, spy)
    fast = _answers(client, "1")
    assert "post_next" in taken and "post_complete" in taken  # the hot path answered
    calls_through_hot_path = len(taken)
    slow = _answers(routed, "2")
    assert len(taken) == calls_through_hot_path  # the routed app never touched it
    assert fast == slow
    by_name = {name: (status, body, auth) for name, status, body, auth in fast}
    assert by_name["no token"][0] == 401 and by_name["no token"][2] == "Bearer"
    assert by_name["admin"][0] == 403 and by_name["ops"][0] == 403
    assert by_name["no session"][0] == 409 and by_name["nothing waiting"][0] == 204
    assert by_name["claim"][0] == 200 and by_name["claim"][1]["study"]["site"] == "RXK"
    assert by_name["complete"][0] == 200 and by_name["complete again"][0] == 409


def test_the_hot_path_answers_503_while_redis_is_down(settings: Settings, tmp_path: Path) -> None:
    with PrivateRedis(tmp_path / "redis") as server:
        app = create_app(settings.model_copy(update={"redis_url": server.url}))
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
            setup_network(client)
            me = reporter(client, "r1")
            client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
            server.stop()
            answer = client.post("/api/v1/worklist/next", headers=me)
            server.start()
    assert answer.status_code == 503
    assert answer.json()["unavailable"] == "allocator store (Redis)"
    assert answer.headers["retry-after"] == "5"
