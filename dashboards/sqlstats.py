"""SQL building blocks the dashboards share: minutes between instants and grouped percentiles.

PostgreSQL computes percentiles itself (``percentile_cont``). SQLite has no ordered-set
aggregates, so it numbers each group's values with window functions and returns only the two
rows around each percentile; Python interpolates them the way ``percentile_cont`` does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Select,
    cast,
    extract,
    func,
    or_,
    select,
)

Key = tuple[Any, ...]


def minutes_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later - earlier`` in minutes, as a float, on either dialect."""
    if dialect == "postgresql":
        return cast(extract("epoch", later - earlier), Float) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


def interpolate(ordered_at: dict[int, float], n: int, p: float) -> float | None:
    """percentile_cont over n sorted values given the 1-based rows it needs."""
    if n == 0:
        return None
    h = p * (n - 1)
    lo = math.floor(h)
    low = ordered_at[lo + 1]
    high = ordered_at.get(lo + 2, low)
    return low + (high - low) * (h - lo)


def grouped_percentiles(
    conn: Connection,
    source: Select[Any],
    keys: Sequence[str],
    ps: Sequence[float],
) -> dict[Key, list[float | None]]:
    """Percentiles of ``source``'s ``value`` column per group of its ``keys`` columns."""
    sub = source.subquery("src")
    group = [sub.c[k] for k in keys]
    if conn.dialect.name == "postgresql":
        query = select(
            *group, *(func.percentile_cont(p).within_group(sub.c.value) for p in ps)
        ).group_by(*group)
        return {tuple(row[: len(keys)]): list(row[len(keys) :]) for row in conn.execute(query)}
    numbered = select(
        *group,
        sub.c.value,
        func.row_number().over(partition_by=group, order_by=sub.c.value).label("rn"),
        func.count().over(partition_by=group).label("n"),
    ).subquery("numbered")
    wanted = []
    for p in ps:
        base = cast(p * (numbered.c.n - 1), Integer) + 1
        wanted += [numbered.c.rn == base, numbered.c.rn == base + 1]
    query = select(
        *(numbered.c[k] for k in keys), numbered.c.rn, numbered.c.n, numbered.c.value
    ).where(or_(*wanted))
    rows: dict[Key, dict[int, float]] = defaultdict(dict)
    sizes: dict[Key, int] = {}
    for row in conn.execute(query):
        key = tuple(row[: len(keys)])
        rows[key][int(row.rn)] = float(row.value)
        sizes[key] = int(row.n)
    return {key: [interpolate(rows[key], sizes[key], p) for p in ps] for key in rows}
