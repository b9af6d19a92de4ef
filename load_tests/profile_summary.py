"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) by where time is spent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# Frames named after these go into one bucket each, whatever is above them on the stack.
BUCKETS = (
    ("redis round trips (allocator)", ("allocator/",)),
    ("redis-py client", ("redis/",)),
    ("SQL (SQLAlchemy, sqlite3, psycopg)", ("sqlalchemy/", "sqlite3", "psycopg")),
    ("pydantic / JSON", ("pydantic", "orjson", "json/")),
    ("FastAPI / Starlette routing", ("fastapi/", "starlette/")),
    ("uvicorn / asyncio / HTTP parsing", ("uvicorn/", "asyncio/", "httptools", "uvloop")),
    ("worklist code", ("worklist/",)),
    ("dashboards code", ("dashboards/",)),
)


def _bucket(stack: str) -> str:
    """The innermost frame that belongs to a known bucket names the sample."""
    for frame in reversed(stack.split(";")):
        for name, needles in BUCKETS:
            if any(n in frame for n in needles):
                return name
    return "other (idle, GC, interpreter)"


def summarise(path: Path, top: int = 12) -> str:
    if not path.exists():
        return f"(no profile at {path}: is py-spy installed and allowed to ptrace?)"
    samples: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[_bucket(stack)] += int(count)
    total = sum(samples.values()) or 1
    return "\n".join(f"  {n / total:6.1%}  {name}" for name, n in samples.most_common(top))
