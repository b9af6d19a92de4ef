"""CPU of the PostgreSQL hot path: statements on psycopg's cursor, completions without a lookup.

    python -m load_tests.bench_hot_path_cpu [--pairs 600] [--rounds 3] [--pg-url URL]

Two figures, each against its baseline measured in the same run, interleaved round by round
so that all see the machine in the same mood (CPU time first; wall time is noisier):

- ``statement``: one assignment lookup (``statements.OPEN_ASSIGNMENT``, 34 columns back),
  through SQLAlchemy's ``Connection.execute``, through ``DriverStatement`` and through bare
  psycopg (the floor), microseconds of CPU per statement;
- ``pairs``: a pull and its completion through the app's ASGI interface in this process (no
  HTTP server), milliseconds per pair of the app's CPU, of its PostgreSQL backend's CPU
  (/proc: the server must be local) and of wall time: as shipped; with every
  completion looking its assignment up first (as when it reaches another worker than the
  claim); and with that and the statements through SQLAlchemy (``HotConnection.first``
  pointed back at ``execute``), the code before both changes.

Prints JSON. Needs PostgreSQL (``--pg-url`` or WORKLIST_TEST_POSTGRES_URL or 127.0.0.1) and a
Redis (``--redis-url``, default a private embedded one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from pydantic import SecretStr

from connectors.simulator import generate_studies
from load_tests.cpu import process_cpu_seconds
from load_tests.harness import drop_postgres, fresh_postgres, vacuum_analyze
from worklist.app import create_app
from worklist.demo import seed
from worklist.reporting import hot_connection, statements
from worklist.reporting.driver_statements import DriverStatement
from worklist.reporting.open_assignments import OpenAssignments
from worklist.settings import Settings

ADMIN = "bench-admin-token-0123456789abcdef"
DATABASE = "bench_hot_path_cpu"


@contextmanager
def _dropped_after(pg_url: str) -> Iterator[None]:
    try:
        yield
    finally:
        drop_postgres(pg_url, DATABASE)


@dataclass(frozen=True)
class Pair:
    """Per pull and its completion: the app's CPU, its PostgreSQL backend's CPU, wall time."""

    app_cpu_ms: float
    postgres_cpu_ms: float
    wall_ms: float
    completed: int  # pulls answered with a case and completed (the rest found nothing)


async def _through_sqlalchemy(
    self: hot_connection.HotConnection, statement: Any, params: Any
) -> Any:
    """The baseline: what ``HotConnection.first`` did before, SQLAlchemy's execute."""
    return (await self.execute(statement, params)).first()


@contextmanager
def _seeded(pg_url: str, redis_url: str | None, studies: int) -> Iterator[tuple[Any, list[str]]]:
    """The app on a fresh database with the demo network, 100 reporters in sessions and a
    backlog; yields the TestClient and the reporters' tokens. The database is dropped after."""
    url = fresh_postgres(pg_url, DATABASE)
    with tempfile.TemporaryDirectory() as tmp, _dropped_after(pg_url):
        settings = Settings(
            data_dir=Path(tmp),
            database_url=url,
            redis_url=redis_url,
            admin_token=SecretStr(ADMIN),
            log_level="WARNING",
            prediction_interval_seconds=86_400,  # no prediction pass in the measured rounds
        )
        app = create_app(settings, run_sweeper_task=False)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with TestClient(app, headers=admin) as client:
            for code, name in seed.SITES.items():
                client.put(f"/api/v1/sites/{code}", json={"name": name, "network": seed.NETWORK})
            team = seed.reporters(radiologists=50, registrars=10, radiographers=40)
            for rid, body in team.items():
                client.put(f"/api/v1/reporters/{rid}", json=body).raise_for_status()
            feed = client.post("/api/v1/tokens", json={"role": "feed"}).json()["token"]
            backlog = generate_studies(
                studies, list(seed.SITES), datetime.now(UTC) - timedelta(hours=30), seed=5
            )
            for i in range(0, len(backlog), 500):
                client.post(
                    "/api/v1/studies",
                    json=backlog[i : i + 500],
                    headers={"Authorization": f"Bearer {feed}"},
                ).raise_for_status()
            vacuum_analyze(url)
            tokens = []
            for rid in team:
                body = {"role": "reporter", "reporter_id": rid}
                token = client.post("/api/v1/tokens", json=body).json()["token"]
                client.post(
                    "/api/v1/sessions",
                    json={"kind": "core"},
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
                tokens.append(token)
            yield client, tokens


async def _post(app: Any, path: str, token: str) -> tuple[int, bytes]:
    """One POST through the app's ASGI interface, as uvicorn would deliver it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "app": app,
        "state": {},
    }
    answer: dict[str, Any] = {}
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return int(answer["status"]), bytes(body)


def _pairs(app: Any, tokens: list[str], n: int, backend: int) -> Callable[[], Awaitable[Pair]]:
    async def run() -> Pair:
        started, wall = time.process_time(), time.perf_counter()
        database = process_cpu_seconds(backend)
        completed = 0
        for i in range(n):
            token = tokens[i % len(tokens)]
            status, body = await _post(app, "/api/v1/worklist/next", token)
            if status == 200:
                assignment = json.loads(body)["assignment_id"]
                done, text = await _post(app, f"/api/v1/assignments/{assignment}/complete", token)
                assert done == 200, text
                completed += 1
        return Pair(
            app_cpu_ms=(time.process_time() - started) / n * 1000,
            postgres_cpu_ms=(process_cpu_seconds(backend) - database) / n * 1000,
            wall_ms=(time.perf_counter() - wall) / n * 1000,
            completed=completed,
        )

    return run


def _statement_cpu(client: Any, n: int) -> dict[str, float]:
    """µs of CPU per assignment lookup three ways, on the app's own loop connection."""
    services = client.app.state.services
    with services.loop_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM assignment LIMIT 200")]
        driver = DriverStatement(statements.OPEN_ASSIGNMENT)
        text = statements.OPEN_ASSIGNMENT.compile(dialect=conn.dialect).string
        raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]

        def sqlalchemy_once(i: int) -> object:
            row = conn.execute(statements.OPEN_ASSIGNMENT, {"p_assignment": ids[i % len(ids)]})
            return dict(row.one()._mapping)

        def driver_once(i: int) -> object:
            return driver.first(conn, {"p_assignment": ids[i % len(ids)]})

        def psycopg_once(i: int) -> object:
            with raw.cursor() as cursor:
                cursor.execute(text, {"p_assignment": ids[i % len(ids)]})
                return cursor.fetchone()

        out: dict[str, list[float]] = {"sqlalchemy": [], "driver_statement": [], "psycopg": []}
        for _ in range(3):
            for name, once in (
                ("sqlalchemy", sqlalchemy_once),
                ("driver_statement", driver_once),
                ("psycopg", psycopg_once),
            ):
                started = time.process_time()
                for i in range(n):
                    once(i)
                out[name].append((time.process_time() - started) / n * 1e6)
    return {f"{k}_us": round(statistics.median(v), 1) for k, v in out.items()}


#: The variants timed, each against the others in the same rounds: (statements on psycopg's
#: cursor, the completion of a known assignment without a lookup).
VARIANTS = {
    "shipped": (True, True),
    "lookup_every_completion": (True, False),
    "sqlalchemy_and_lookup": (False, False),  # the code before both changes
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=600, help="pull+complete pairs per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--studies", type=int, default=8_000)
    parser.add_argument("--statements", type=int, default=2_000, help="lookups per timing")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "WORKLIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"
        ),
    )
    parser.add_argument("--redis-url", default=None, help="default: an embedded Redis")
    args = parser.parse_args()
    shipped = hot_connection.HotConnection.first
    rounds: dict[str, list[Pair]] = {name: [] for name in VARIANTS}
    with _seeded(args.pg_url, args.redis_url, args.studies) as (client, tokens):
        app = client.app
        services = app.state.services
        remembered = services.open_assignments
        with services.loop_engine.connect() as conn:  # the hot path's one pooled connection
            backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        client.portal.call(_pairs(app, tokens, 200, backend))  # warm: caches, prepared plans
        try:
            for _ in range(args.rounds):
                for name, (on_driver, known) in VARIANTS.items():
                    first = shipped if on_driver else _through_sqlalchemy
                    hot_connection.HotConnection.first = first  # type: ignore[method-assign]
                    # limit 0: every assignment is forgotten as soon as it is remembered
                    services.open_assignments = remembered if known else OpenAssignments(0)
                    pairs = _pairs(app, tokens, args.pairs, backend)
                    rounds[name].append(client.portal.call(pairs))
        finally:
            hot_connection.HotConnection.first = shipped  # type: ignore[method-assign]
            services.open_assignments = remembered
        statement = _statement_cpu(client, args.statements)
    medians = {
        name: {
            field: round(statistics.median(getattr(p, field) for p in pairs), 3)
            for field in ("app_cpu_ms", "postgres_cpu_ms", "wall_ms")
        }
        for name, pairs in rounds.items()
    }
    shipped_median = medians["shipped"]
    print(
        json.dumps(
            {
                "statement": statement,
                "pairs": {k: [asdict(p) for p in v] for k, v in rounds.items()},
                "pair_median": medians,
                "pair_ratio_over_shipped": {
                    name: {k: round(v / shipped_median[k], 3) for k, v in m.items()}
                    for name, m in medians.items()
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
