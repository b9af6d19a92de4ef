"""The load harness's database care, on the real PostgreSQL the suite runs against."""

from __future__ import annotations

import pytest
import sqlalchemy

from load_tests.harness import autovacuum_setting, vacuum_analyze


@pytest.mark.postgres
def test_a_freshly_loaded_table_gets_planner_statistics(postgres_schema_url: str) -> None:
    """Bulk-loaded rows have no statistics until something analyzes them; the harness does,
    after seeding, so the run's plans are those of a database in service."""
    engine = sqlalchemy.create_engine(postgres_schema_url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE fresh AS SELECT generate_series(1, 5000) AS n"))

    def known() -> tuple[float, int]:
        with engine.connect() as conn:
            tuples = conn.execute(
                sqlalchemy.text("SELECT reltuples FROM pg_class WHERE oid = 'fresh'::regclass")
            ).scalar()
            stats = conn.execute(
                sqlalchemy.text(
                    "SELECT count(*) FROM pg_stats "
                    "WHERE tablename = 'fresh' AND schemaname = current_schema()"
                )
            ).scalar()
        return float(tuples or 0), int(stats or 0)

    try:
        assert known() == (-1.0, 0)  # never vacuumed nor analyzed
        vacuum_analyze(postgres_schema_url)
        assert known() == (5000.0, 1)
        assert autovacuum_setting(postgres_schema_url) in ("on", "off")
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP TABLE fresh"))
        engine.dispose()
