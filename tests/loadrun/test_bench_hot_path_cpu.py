"""``python -m load_tests.bench_hot_path_cpu`` through its command line, tiny: the three
variants it compares must each run (pulls answered, completions accepted) and be timed."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from load_tests.harness import drop_postgres
from tests.conftest import _postgres_base_url

pytestmark = pytest.mark.postgres


def test_the_benchmark_times_all_three_variants(postgres_schema_url: str) -> None:
    base = _postgres_base_url()
    assert base is not None  # the fixture has failed or skipped otherwise
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "load_tests.bench_hot_path_cpu",
            *("--pairs", "20", "--rounds", "1", "--studies", "600", "--statements", "20"),
            *("--pg-url", base),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        assert done.returncode == 0, done.stderr[-2000:]
        figures = json.loads(done.stdout)
        assert set(figures["pair_median"]) == {
            "shipped",
            "lookup_every_completion",
            "sqlalchemy_and_lookup",
        }
        for variant in figures["pair_median"].values():
            assert variant["app_cpu_ms"] > 0 and variant["wall_ms"] > 0
            assert variant["postgres_cpu_ms"] >= 0
        assert all(us > 0 for us in figures["statement"].values())
        for rounds in figures["pairs"].values():
            assert all(r["completed"] > 0 for r in rounds)  # every variant claimed and completed
        with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
            left = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_hot_path_cpu'")
            assert left.fetchone() is None  # the bench drops its database when done
    finally:
        drop_postgres(base, "bench_hot_path_cpu")  # the bench drops it too, unless it failed
