"""Reliability drills under load: Redis killed and restarted, the API killed and restarted, the
database cut off and back. Each runs the real `worklist serve` with its own redis-server (never
the shared one) and checks that nothing acknowledged is lost and no step is manual."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from load_tests.bench_http import audit
from load_tests.harness import fresh_postgres
from load_tests.private_redis import PrivateRedis
from tests.conftest import REQUIRE_ALL, _postgres_base_url
from tests.drills.helpers import (
    CuttableProxy,
    Load,
    Service,
    drain,
    running,
    seed_network,
    status_counts,
    wait_until_pulls_work,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    with PrivateRedis(tmp_path / "redis") as server:
        yield server


def _check_nothing_acknowledged_was_lost(service: Service, load: Load, db_url: str) -> None:
    with service.admin() as admin:
        for uid in sorted(load.ingested):
            assert admin.get(f"/api/v1/studies/{uid}").status_code == 200, uid
        for uid in sorted(load.completed):
            assert admin.get(f"/api/v1/studies/{uid}").json()["status"] == "reported", uid
    checked = audit(db_url)
    assert checked["double_assignments"] == 0 and checked["scope_violations"] == 0, checked


def test_redis_killed_and_restarted_mid_load(tmp_path: Path, private_redis: PrivateRedis) -> None:
    service = Service(tmp_path, private_redis.url, None, workers=2)
    with running(service), service.admin() as admin:
        network = seed_network(admin)
        with Load(service.url, network) as load:
            time.sleep(3)
            before = load.count("complete 200")
            private_redis.stop()  # SIGKILL: every key is gone
            time.sleep(2)
            private_redis.start()  # empty
            token = next(iter(network.reporters.values()))
            recovered_in = wait_until_pulls_work(service.url, token)
            time.sleep(3)
        assert load.count("complete 200") > before, load.statuses
        assert not [k for k in load.statuses if k.endswith(" 500")], load.statuses
        _check_nothing_acknowledged_was_lost(service, load, f"sqlite:///{tmp_path}/worklist.db")
        # The rebuilt state holds everything waiting, including what arrived during the outage.
        drain(service.url, network)
        assert status_counts(admin)["unreported"] == 0
        print(f"recovered in {recovered_in:.1f} s; {dict(load.statuses)}")


def test_api_killed_and_restarted_mid_load(tmp_path: Path, private_redis: PrivateRedis) -> None:
    service = Service(tmp_path, private_redis.url, None, workers=2)
    with running(service):
        with service.admin() as admin:
            network = seed_network(admin)
        token = next(iter(network.reporters.values()))
        held = httpx.post(
            f"{service.url}/api/v1/worklist/next", headers={"Authorization": f"Bearer {token}"}
        ).json()
        with Load(service.url, network) as load:
            time.sleep(3)
            service.kill(signal.SIGKILL)  # a crash, not a graceful stop
            time.sleep(1)
            service.start()  # same port, same database and Redis; no other step
            wait_until_pulls_work(service.url, token)
            time.sleep(3)
        # A case claimed before the crash is still leased to its reporter and can be finished.
        done = httpx.post(
            f"{service.url}/api/v1/assignments/{held['assignment_id']}/complete",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert done.status_code == 200, done.text
        assert not [k for k in load.statuses if k.endswith(" 500")], load.statuses
        _check_nothing_acknowledged_was_lost(service, load, f"sqlite:///{tmp_path}/worklist.db")
        drain(service.url, network)


@pytest.fixture
def postgres_server_url() -> str:
    base = _postgres_base_url()
    if base is None:
        if REQUIRE_ALL:
            pytest.fail("PostgreSQL is required (WORKLIST_TEST_REQUIRE_ALL=1) but unreachable")
        pytest.skip("PostgreSQL not reachable")
    return base.replace("postgresql+psycopg://", "postgresql://", 1)


def test_database_briefly_unreachable(
    tmp_path: Path, private_redis: PrivateRedis, postgres_server_url: str
) -> None:
    direct = fresh_postgres(postgres_server_url, "worklist_drill_db")
    url = sqlalchemy.engine.make_url(direct)
    proxy = CuttableProxy(url.port or 5432, url.host or "127.0.0.1")
    proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    service = Service(tmp_path, private_redis.url, through_proxy, workers=1)
    with running(service), service.admin() as admin:
        network = seed_network(admin)
        with Load(service.url, network) as load:
            time.sleep(3)
            proxy.cut()  # every connection dropped, new ones refused
            time.sleep(3)
            during = httpx.get(f"{service.url}/api/v1/sites", headers=admin.headers, timeout=10)
            ready = httpx.get(f"{service.url}/readyz", timeout=10)
            proxy.start()  # the database is back
            token = next(iter(network.reporters.values()))
            recovered_in = wait_until_pulls_work(service.url, token)
            time.sleep(3)
        assert during.status_code == 503, during.text
        assert during.json()["unavailable"] == "database"
        assert ready.status_code == 503 and "database" in ready.json()["problems"]
        assert load.count("next 503") + load.count("ingest 503") > 0, load.statuses
        assert not [k for k in load.statuses if k.endswith(" 500")], load.statuses
        assert admin.get("/readyz").status_code == 200
        _check_nothing_acknowledged_was_lost(service, load, direct)
        drain(service.url, network)
        print(f"recovered in {recovered_in:.1f} s; {dict(load.statuses)}")
    proxy.cut()
