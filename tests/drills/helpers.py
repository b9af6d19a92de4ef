"""Drill helpers: the service as its own process on a fixed port, a small network, a TCP proxy
that can cut the database, and reporters/feeds that keep working while things break."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from connectors.simulator import generate_studies

ADMIN = "drill-admin-token"
SITES = {"RXK": "Sandwell General", "RL4": "New Cross Wolverhampton"}
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Service:
    """`worklist serve` in its own process group on a fixed port: start, kill, start again."""

    def __init__(self, data_dir: Path, redis_url: str, database_url: str | None, workers: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "WORKLIST_DATA_DIR": str(data_dir),
            "WORKLIST_REDIS_URL": redis_url,
            "WORKLIST_ADMIN_TOKEN": ADMIN,
            "WORKLIST_LOG_LEVEL": "ERROR",
            "WORKLIST_SWEEP_INTERVAL_SECONDS": "0.5",
            "WORKLIST_PATIENT_HASH_KEY": "drill-secret",
        }
        if database_url:
            self.env["WORKLIST_DATABASE_URL"] = database_url
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "worklist.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the service did not become ready")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
            self.process = None

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=bearer(ADMIN), timeout=30)


@contextmanager
def running(service: Service) -> Iterator[Service]:
    service.start()
    try:
        yield service
    finally:
        if service.process is not None:
            service.kill(signal.SIGTERM)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Network:
    feed: str
    reporters: dict[str, str]  # reporter id -> token


def seed_network(admin: httpx.Client, reporters: int = 8, backlog: int = 200) -> Network:
    """Two sites, radiologists who may report anything there (so the queue can be drained)."""
    for code, name in SITES.items():
        admin.put(f"/api/v1/sites/{code}", json={"name": name, "network": "wm"})
    tokens: dict[str, str] = {}
    for i in range(reporters):
        rid = f"rad{i}"
        admin.put(
            f"/api/v1/reporters/{rid}",
            json={
                "name": rid,
                "group": "radiologist",
                "home_site": "RXK",
                "sites": list(SITES),
                "subspecialties": [],
                "scope": [],
            },
        ).raise_for_status()
        minted = admin.post("/api/v1/tokens", json={"role": "reporter", "reporter_id": rid})
        tokens[rid] = str(minted.json()["token"])
        admin.post(
            "/api/v1/sessions", json={"kind": "core"}, headers=bearer(tokens[rid])
        ).raise_for_status()
    feed = admin.post("/api/v1/tokens", json={"role": "feed"}).json()["token"]
    studies = generate_studies(backlog, list(SITES), datetime.now(UTC) - timedelta(hours=2), 1)
    admin.post("/api/v1/studies", json=studies, headers=bearer(feed)).raise_for_status()
    return Network(feed, tokens)


@dataclass
class Load:
    """Reporters pulling and completing, a feed ingesting, until stopped; records outcomes."""

    url: str
    network: Network
    statuses: Counter[str] = field(default_factory=Counter)
    ingested: set[str] = field(default_factory=set)  # acknowledged (200) ingests
    completed: set[str] = field(default_factory=set)  # acknowledged completions
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        self.threads = [threading.Thread(target=self._feed, daemon=True)]
        for token in self.network.reporters.values():
            self.threads.append(threading.Thread(target=self._reporter, args=(token,)))
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _call(
        self, client: httpx.Client, what: str, method: str, path: str, **kw: object
    ) -> httpx.Response | None:
        try:
            response = client.request(method, path, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as e:
            self.statuses[f"{what} {type(e).__name__}"] += 1
            return None
        self.statuses[f"{what} {response.status_code}"] += 1
        return response

    def _feed(self) -> None:
        seed = 100
        with httpx.Client(base_url=self.url, headers=bearer(self.network.feed), timeout=10) as c:
            while not self.stop.wait(0.3):
                seed += 1
                batch = generate_studies(5, list(SITES), datetime.now(UTC), seed)
                r = self._call(c, "ingest", "POST", "/api/v1/studies", json=batch)
                if r is not None and r.status_code == 200:
                    self.ingested.update(s["study_uid"] for s in batch)

    def _reporter(self, token: str) -> None:
        with httpx.Client(base_url=self.url, headers=bearer(token), timeout=10) as c:
            while not self.stop.is_set():
                r = self._call(c, "next", "POST", "/api/v1/worklist/next")
                if r is None or r.status_code != 200:
                    self.stop.wait(0.2)
                    continue
                got = r.json()
                self.stop.wait(0.05)
                done = self._call(
                    c, "complete", "POST", f"/api/v1/assignments/{got['assignment_id']}/complete"
                )
                if done is not None and done.status_code == 200:
                    self.completed.add(got["study"]["study_uid"])

    def count(self, prefix: str) -> int:
        return sum(n for k, n in self.statuses.items() if k.startswith(prefix))


def wait_until_pulls_work(url: str, token: str, timeout: float = 30.0) -> float:
    """Seconds until a pull answers 200 or 204 again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            r = httpx.post(f"{url}/api/v1/worklist/next", headers=bearer(token), timeout=5)
            if r.status_code in (200, 204):
                if r.status_code == 200:
                    httpx.post(
                        f"{url}/api/v1/assignments/{r.json()['assignment_id']}/release",
                        json={"reason": "drill probe"},
                        headers=bearer(token),
                        timeout=5,
                    )
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"pulls did not work again within {timeout} s")


def drain(url: str, network: Network) -> int:
    """Pull and complete until every reporter gets 204; returns how many were completed."""
    done = 0
    for token in network.reporters.values():
        while True:
            r = httpx.post(f"{url}/api/v1/worklist/next", headers=bearer(token), timeout=10)
            if r.status_code == 204:
                break
            assert r.status_code == 200, r.text
            c = httpx.post(
                f"{url}/api/v1/assignments/{r.json()['assignment_id']}/complete",
                headers=bearer(token),
                timeout=10,
            )
            assert c.status_code == 200, c.text
            done += 1
    return done


def status_counts(admin: httpx.Client) -> Counter[str]:
    """Studies by status, read page by page from the API."""
    counts: Counter[str] = Counter()
    cursor: str | None = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = admin.get("/api/v1/studies", params=params).json()
        counts.update(s["status"] for s in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return counts


class CuttableProxy:
    """A TCP proxy to the database that can be cut (all connections dropped, new ones refused)
    and restored on the same port: a database briefly unreachable, without stopping it."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.target = (target_host, target_port)
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone leaves it accepting
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while this one was connecting
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
