"""The sweeper notices that Redis lost the allocator's state and rebuilds it (no operator);
outages answer 503 with a JSON body instead of 500."""

from __future__ import annotations

import sqlalchemy
from fastapi.testclient import TestClient

from allocator.connection import connect
from tests.conftest import bearer, mint
from tests.worklist.helpers import put_reporter, services_of, setup_network, study
from worklist.reporting.sweeper import sweep_once
from worklist.reporting.watch import marker_keys, restore_lost_state


def _reporter(client: TestClient, rid: str) -> dict[str, str]:
    put_reporter(client, rid)
    me = bearer(mint(client, "reporter", rid))
    assert client.post("/api/v1/sessions", json={"kind": "core"}, headers=me).status_code == 201
    return me


def test_a_redis_that_lost_everything_is_rebuilt_by_the_next_sweep(client: TestClient) -> None:
    setup_network(client)
    me = _reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("21.1"), study("21.2"), study("21.3")])
    services = services_of(client)
    assert restore_lost_state(services) == []  # first look: the state is there, mark it
    assert services.redis.exists(marker_keys("wm")[0])
    claimed = client.post("/api/v1/worklist/next", headers=me).json()

    services.redis.flushdb()  # Redis restarted without persistence
    # What happens before the sweeper notices: the reporter looks off duty.
    assert client.post("/api/v1/worklist/next", headers=me).status_code == 409
    client.post("/api/v1/studies", json=[study("21.4")])  # ingest goes on meanwhile

    sweep_once(services)
    assert services.redis.exists(marker_keys("wm")[0])
    # The lease came back: the acknowledged claim can be completed ...
    done = client.post(f"/api/v1/assignments/{claimed['assignment_id']}/complete", headers=me)
    assert done.status_code == 200, done.text
    # ... and everything waiting, including what arrived during the outage, is claimable.
    seen = set()
    while (r := client.post("/api/v1/worklist/next", headers=me)).status_code == 200:
        seen.add(r.json()["study"]["study_uid"])
    assert seen == {"21.1", "21.2", "21.3", "21.4"} - {claimed["study"]["study_uid"]}


def test_a_rebuild_in_progress_elsewhere_is_left_alone(client: TestClient) -> None:
    setup_network(client)
    services = services_of(client)
    restore_lost_state(services)
    services.redis.flushdb()
    marker, lock = marker_keys("wm")
    services.redis.set(lock, "1", ex=60)  # another process holds the rebuild lock
    assert restore_lost_state(services) == []
    services.redis.delete(lock)
    assert restore_lost_state(services) == ["wm"]
    assert services.redis.exists(marker) and not services.redis.exists(lock)


def test_database_unreachable_answers_503_with_json(client: TestClient) -> None:
    services = services_of(client)
    good = services.engine
    services.engine = sqlalchemy.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 1}
    )
    try:
        r = client.get("/api/v1/sites")
    finally:
        services.engine.dispose()
        services.engine = good
    assert r.status_code == 503
    assert r.json()["unavailable"] == "database" and r.headers["retry-after"]
    assert client.get("/api/v1/sites").status_code == 200  # and back without any step


def test_redis_unreachable_answers_503_with_json(client: TestClient) -> None:
    setup_network(client)
    me = _reporter(client, "r1")
    services = services_of(client)
    good = services.redis
    services.redis = connect("redis://127.0.0.1:9/0")
    services._allocators.clear()
    try:
        r = client.post("/api/v1/worklist/next", headers=me)
    finally:
        services.redis.close()
        services.redis = good
        services._allocators.clear()
    assert r.status_code == 503, r.text
    assert r.json()["unavailable"] == "allocator store (Redis)"
    assert client.post("/api/v1/worklist/next", headers=me).status_code == 204
