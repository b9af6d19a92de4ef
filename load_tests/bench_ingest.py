"""Ingest throughput over HTTP in batches of 500, on SQLite and on PostgreSQL.

    python load_tests/bench_ingest.py [--studies 20000] [--pg-url postgresql://...]

Prints JSON: studies/s for first delivery and for a full re-send (updates), and checks that
the re-send duplicated nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy

from connectors.simulator import generate_studies
from load_tests.harness import fresh_postgres, running_service, seed_sites


def _deliver(client: Any, studies: list[dict[str, Any]], batch: int) -> tuple[float, int, int]:
    created = updated = 0
    started = time.perf_counter()
    for i in range(0, len(studies), batch):
        response = client.post("/api/v1/studies", json=studies[i : i + batch])
        response.raise_for_status()
        body = response.json()
        assert not body["rejected"], body["rejected"][:3]
        created += body["created"]
        updated += body["updated"]
    return time.perf_counter() - started, created, updated


def run(
    backend: str, database_url: str | None, redis_url: str | None, n: int, batch: int
) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_service(Path(tmp), database_url, redis_url) as service,
    ):
        sites = seed_sites(service.admin)
        studies = generate_studies(n, sites, datetime.now(UTC) - timedelta(days=1), seed=11)
        import httpx

        feed = service.token("feed")
        with httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {feed}"}, timeout=120
        ) as client:
            first, created, _ = _deliver(client, studies, batch)
            again, _, updated = _deliver(client, studies, batch)
        engine = sqlalchemy.create_engine(database_url or f"sqlite:///{Path(tmp) / 'worklist.db'}")
        with engine.connect() as conn:
            stored = conn.execute(sqlalchemy.text("SELECT count(*) FROM study")).scalar_one()
        engine.dispose()
    return {
        "backend": backend,
        "studies": n,
        "batch": batch,
        "created": created,
        "first_delivery_per_s": round(n / first),
        "resend_updated": updated,
        "resend_per_s": round(n / again),
        "rows_after_resend": stored,
        "duplicates": stored - n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default=None, help="default: embedded redis")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results = [run("sqlite", None, args.redis_url, args.studies, args.batch)]
    if not args.skip_postgres:
        url = fresh_postgres(args.pg_url, "bench_ingest")
        results.append(run("postgresql", url, args.redis_url, args.studies, args.batch))
    print(json.dumps({"ingest": results}, indent=2))


if __name__ == "__main__":
    main()
