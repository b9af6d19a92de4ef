"""Every path that touches a study keeps its ``sourcing`` right: claim, complete, release,
lease expiry, outsourcing (also of a claimed study), and reports made outside the balancer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.sourcing.helpers import network, provider, reporter, services_of, session
from tests.worklist.helpers import study
from worklist.reporting.sweeper import sweep_once


def _sourcing(client: TestClient, uid: str) -> tuple[str, str | None, str | None]:
    d = client.get(f"/api/v1/studies/{uid}").json()
    return d["status"], d["sourcing"], d["assignee"]


def test_sourcing_on_every_path(client: TestClient) -> None:
    network(client)
    provider(client, "p1")
    ins = reporter(client, "ins")
    core = reporter(client, "core")
    client.post("/api/v1/studies", json=[study(f"70.{i}") for i in range(5)])
    session(client, ins, "insourced")
    got = client.post("/api/v1/worklist/next", headers=ins).json()
    uid, aid = got["study"]["study_uid"], got["assignment_id"]
    assert got["study"]["sourcing"] == "insourced"
    assert _sourcing(client, uid) == ("claimed", "insourced", "ins")
    client.post(f"/api/v1/assignments/{aid}/release", json={"reason": "wrong"}, headers=ins)
    assert _sourcing(client, uid) == ("unreported", None, None)
    client.delete("/api/v1/sessions/current", headers=ins)

    session(client, core, "core")
    got = client.post("/api/v1/worklist/next", headers=core).json()
    done = client.post(f"/api/v1/assignments/{got['assignment_id']}/complete", headers=core)
    assert done.json()["study"]["sourcing"] == "core"
    first = got["study"]["study_uid"]
    assert _sourcing(client, first) == ("reported", "core", "core")

    # a lease that runs out clears it
    got = client.post("/api/v1/worklist/next", headers=core).json()
    expired = got["study"]["study_uid"]
    sweep_once(services_of(client), datetime.now(UTC) + timedelta(days=1))
    assert _sourcing(client, expired) == ("unreported", None, None)

    # a claimed study taken away to a provider: outsourced, the reporter's claim withdrawn
    got = client.post("/api/v1/worklist/next", headers=core).json()
    taken = got["study"]["study_uid"]
    ops = bearer(mint(client, "ops"))
    client.post(f"/api/v1/studies/{taken}/outsource", json={"provider": "p1"}, headers=ops)
    assert _sourcing(client, taken) == ("outsourced", "outsourced", "p1")
    event = client.get(f"/api/v1/studies/{taken}").json()["events"][-1]
    assert event["detail"]["withdrawn_from"] == "core"
    # the provider's report comes back through the RIS: still outsourced
    feed = bearer(mint(client, "feed"))
    r = client.post(
        f"/api/v1/studies/{taken}/report",
        headers=feed,
        json={"reported_at": datetime.now(UTC).isoformat(), "reporter": "Dr P"},
    )
    assert r.status_code == 200, r.text
    assert _sourcing(client, taken)[:2] == ("reported", "outsourced")

    # a case in hand reported straight in the RIS keeps its session's sourcing; one never
    # claimed has none
    got = client.post("/api/v1/worklist/next", headers=core).json()
    in_hand = got["study"]["study_uid"]
    waiting = ({f"70.{i}" for i in range(5)} - {uid, first, expired, taken, in_hand}).pop()
    now = datetime.now(UTC).isoformat()
    back = [{"study_uid": in_hand, "reported_at": now}, {"study_uid": waiting, "reported_at": now}]
    assert client.post("/api/v1/reports", json=back, headers=feed).json()["updated"] == 2
    assert _sourcing(client, in_hand)[:2] == ("reported", "core")
    assert _sourcing(client, waiting) == ("reported", None, None)
