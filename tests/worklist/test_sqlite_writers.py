"""SQLite writers queue for the write lock: a claim waiting behind a bulk writer goes before
that writer's next transaction, reads never queue, and a failed write gives the lock back."""

from __future__ import annotations

import fcntl
import itertools
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from worklist import db, sqlite_writers


@pytest.fixture
def path(tmp_path: Path) -> str:
    file = tmp_path / "writers.db"
    engine = db.make_engine(f"sqlite:///{file}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (n INTEGER PRIMARY KEY, who TEXT)"))
    engine.dispose()
    return str(file)


def _lock_is_free(path: str) -> bool:
    """Probe the writers' lock from a descriptor of our own."""
    fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _bulk_writer(engine: Engine, chunks: int, hold_s: float, started: threading.Event) -> None:
    for i in range(chunks):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log (who) VALUES (:who)"), {"who": f"bulk-{i}"})
            started.set()
            time.sleep(hold_s)  # a chunk's work inside the transaction


def test_a_waiting_claim_goes_before_the_bulk_writers_next_chunk(path: str) -> None:
    background = db.make_engine(f"sqlite:///{path}")  # polite: the sweeper's kind
    claims = db.make_loop_engine(f"sqlite:///{path}")
    started = threading.Event()
    bulk = threading.Thread(target=_bulk_writer, args=(background, 20, 0.02, started))
    bulk.start()
    started.wait(5)
    for _ in range(3):  # three claims, each arriving while a chunk holds the lock
        with claims.begin() as conn:
            conn.execute(text("INSERT INTO log (who) VALUES ('claim')"))
        time.sleep(0.05)
    bulk.join()
    with claims.connect() as conn:
        order = [row.who for row in conn.execute(text("SELECT who FROM log ORDER BY n"))]
    background.dispose()
    claims.dispose()
    # Each claim waits for the chunk in progress only: the bulk writer commits about three
    # 20 ms chunks in the 50 ms between claims, never a run of them ahead of a waiting claim.
    positions = [i for i, who in enumerate(order) if who == "claim"]
    assert len(positions) == 3 and len(order) == 23, order
    chunks_before = [
        positions[0],
        *(b - a - 1 for a, b in itertools.pairwise(positions)),
    ]
    assert chunks_before[0] <= 3 and all(1 <= n <= 5 for n in chunks_before[1:]), order


def test_reads_do_not_queue_and_the_lock_is_held_only_while_writing(path: str) -> None:
    engine = db.make_loop_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM log")).scalar()
        assert _lock_is_free(path)
        conn.execute(text("INSERT INTO log (who) VALUES ('w')"))
        assert not _lock_is_free(path)
        conn.commit()
        assert _lock_is_free(path)
    engine.dispose()


def test_a_failed_write_gives_the_lock_back(path: str) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO log (n, who) VALUES (1, 'a')"))
        conn.commit()
        with pytest.raises(Exception, match="UNIQUE"):
            conn.execute(text("INSERT INTO log (n, who) VALUES (1, 'again')"))
        conn.rollback()
        assert _lock_is_free(path)
    with engine.connect() as conn:  # and a connection returned mid-write releases it too
        conn.execute(text("INSERT INTO log (who) VALUES ('left open')"))
    assert _lock_is_free(path)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM log")).scalar() == 1
    engine.dispose()


def test_no_commit_checkpoints_inside_the_lock_and_background_writers_do_after_it(
    path: str,
) -> None:
    """A checkpoint inside a commit fsyncs while the write lock is held (claims waited
    60-140 ms behind it): no connection autocheckpoints; a background writer checkpoints
    after its commit, once the WAL is past the threshold; db.checkpoint asks for one."""
    claims = db.make_loop_engine(f"sqlite:///{path}")
    background = db.make_engine(f"sqlite:///{path}")
    for engine in (claims, background):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    for _ in range(1200):  # past the usual threshold: a checkpointing connection would reset
        with claims.begin() as conn:
            conn.execute(text("INSERT INTO log (who) VALUES ('claim')"))
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > sqlite_writers.CHECKPOINT_BYTES
    before = Path(path).stat().st_size  # the rows are still only in the WAL
    with background.begin() as conn:
        conn.execute(text("INSERT INTO log (who) VALUES ('background')"))
    after_background = Path(path).stat().st_size
    assert after_background > before  # its commit was followed by a checkpoint
    assert _lock_is_free(path)
    for _ in range(1200):
        with claims.begin() as conn:
            conn.execute(text("INSERT INTO log (who) VALUES ('claim')"))
    db.checkpoint(background)
    assert Path(path).stat().st_size > after_background
    claims.dispose()
    background.dispose()


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("INSERT INTO log VALUES (1, 'a')", True),
        ("  update log SET who = 'b'", True),
        ("-- audit\n/* two */ DELETE FROM log", True),
        ("WITH x AS (SELECT 1) UPDATE log SET who = 'c'", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("SELECT * FROM log", False),
        ("/* INSERT */ SELECT 1", False),
    ],
)
def test_what_counts_as_a_write(statement: str, writes: bool) -> None:
    assert bool(sqlite_writers._WRITES.match(statement)) is writes


def test_a_writer_that_gave_up_waiting_does_not_wait_again_in_that_transaction(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writers, "WAIT_LIMIT_S", 0.05)
    holder = os.open(f"{path}-writers", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # someone else holds the writers' lock
    engine = db.make_loop_engine(f"sqlite:///{path}")
    waits: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(sqlite_writers.time, "sleep", lambda s: (waits.append(s), real_sleep(s)))
    try:
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO log (who) VALUES ('first')"))
            assert conn.info["writers_held"] == sqlite_writers._GAVE_UP
            waited = len(waits)
            conn.execute(text("INSERT INTO log (who) VALUES ('second')"))
            assert len(waits) == waited  # no second wait
            conn.commit()
            assert "writers_held" not in conn.info
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
        engine.dispose()
