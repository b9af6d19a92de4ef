"""Builders for the sourcing tests: a small network, reporters, providers, and moving a
day's records back in time (the API runs on the real clock; a simulated day is then shifted
to its place in the week, as if it had happened then)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.worklist.helpers import reporter as reporter  # re-exported for the sourcing tests
from tests.worklist.helpers import services_of as services_of
from tests.worklist.helpers import setup_network
from worklist.models import Assignment, OutsourcingOrder, ReporterSession, Study, StudyEvent

CHEST_XR = [{"modalities": ["CR", "DX"], "body_parts": ["CHEST"], "min_age": 16}]


def network(client: TestClient) -> None:
    setup_network(client)


def provider(client: TestClient, pid: str, **overrides: Any) -> None:
    body: dict[str, Any] = {
        "name": pid,
        "modalities": ["CR", "CT", "MR"],
        "price": {"CR": 8.0, "CT": 40.0, "MR": 55.0},
        "tat_hours": 72,
    }
    body.update(overrides)
    r = client.put(f"/api/v1/providers/{pid}", json=body)
    assert r.status_code in (200, 201), r.text


def session(client: TestClient, who: dict[str, str], kind: str = "core") -> None:
    r = client.post("/api/v1/sessions", json={"kind": kind}, headers=who)
    assert r.status_code == 201, r.text


def end_session(client: TestClient, who: dict[str, str]) -> None:
    assert client.delete("/api/v1/sessions/current", headers=who).status_code == 200


def pull_and_complete(client: TestClient, who: dict[str, str], n: int) -> list[str]:
    """Pull and complete up to n cases; the study uids reported."""
    done = []
    for _ in range(n):
        r = client.post("/api/v1/worklist/next", headers=who)
        if r.status_code == 204:
            break
        assert r.status_code == 200, r.text
        body = r.json()
        c = client.post(f"/api/v1/assignments/{body['assignment_id']}/complete", headers=who)
        assert c.status_code == 200, c.text
        done.append(body["study"]["study_uid"])
    return done


def shift(client: TestClient, uids: Iterable[str], delta: timedelta) -> None:
    """Move every time of these studies (and their assignments, sessions, orders, events)."""
    services = services_of(client)
    uids = list(uids)
    st, a, s = Study.__table__, Assignment.__table__, ReporterSession.__table__  # type: ignore[attr-defined]
    o, e = OutsourcingOrder.__table__, StudyEvent.__table__  # type: ignore[attr-defined]
    with services.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(st.c.id).where(st.c.study_uid.in_(uids)))]
        for row in conn.execute(select(st).where(st.c.id.in_(ids))).all():
            conn.execute(
                update(st)
                .where(st.c.id == row.id)
                .values(
                    acquired_at=row.acquired_at + delta,
                    due_at=row.due_at + delta,
                    reported_at=row.reported_at + delta if row.reported_at else None,
                )
            )
        sessions = set()
        for row in conn.execute(select(a).where(a.c.study_id.in_(ids))).all():
            sessions.add(row.session_id)
            conn.execute(
                update(a)
                .where(a.c.id == row.id)
                .values(
                    claimed_at=row.claimed_at + delta,
                    lease_expires_at=row.lease_expires_at + delta,
                    ended_at=row.ended_at + delta if row.ended_at else None,
                )
            )
        for row in conn.execute(select(s).where(s.c.id.in_(sessions - {None}))).all():
            conn.execute(
                update(s)
                .where(s.c.id == row.id)
                .values(
                    started_at=row.started_at + delta,
                    ended_at=row.ended_at + delta if row.ended_at else None,
                )
            )
        for row in conn.execute(select(o).where(o.c.study_id.in_(ids))).all():
            conn.execute(
                update(o)
                .where(o.c.id == row.id)
                .values(
                    sent_at=row.sent_at + delta,
                    provider_due_at=row.provider_due_at + delta,
                    reported_at=row.reported_at + delta if row.reported_at else None,
                )
            )
        for row in conn.execute(select(e.c.id, e.c.at).where(e.c.study_id.in_(ids))).all():
            conn.execute(update(e).where(e.c.id == row.id).values(at=row.at + delta))
