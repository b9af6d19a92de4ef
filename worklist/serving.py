"""Run the API in one or several processes.

Several workers each bind their own SO_REUSEPORT socket on the same port, so the kernel spreads
new connections evenly over them (a shared accept socket lets one busy worker take them all).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def hand_back_the_gil_sooner(interval_ms: float) -> None:
    """Shorten this process's switch interval. A pull's round trips to Redis and PostgreSQL
    each give up the GIL; when a thread-pool thread (a dashboard, an ingest batch) takes it
    meanwhile, the event loop waits up to the interval to get it back: CPython's 5 ms can be
    paid at each round trip of each queued pull (load_tests/bench_switch_interval)."""
    sys.setswitchinterval(interval_ms / 1000)
    actual_ms = round(sys.getswitchinterval() * 1000, 3)  # as the interpreter now has it
    log.info("interpreter switch interval set", extra={"switch_interval_ms": actual_ms})


def serve_one(host: str, port: int, reuse_port: bool) -> None:
    """One worker: build the app from the environment and serve until told to stop."""
    from worklist.app import create_app
    from worklist.settings import Settings

    settings = Settings()
    app = create_app(settings)  # configures logging
    hand_back_the_gil_sooner(settings.gil_switch_interval_ms)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    server.run(sockets=[_socket(host, port)] if reuse_port else None)


SWEEPER_NICENESS = 10
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _stop_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the service's main process (``parent``) dies, however
    it dies: the workers and the sweeper then stop together, instead of API workers serving
    on with nobody expiring leases (Linux; ``PR_SET_PDEATHSIG``)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _own_scheduling_group() -> None:
    """Put this process in a session of its own (Linux).

    Linux with autogroup on (most distributions) shares the CPU between sessions first and
    only then between the processes of one session, so niceness ranked the sweeper only
    against the API workers: its bursts still counted against their session's share, while
    every PostgreSQL backend (each calls setsid) competes as a session of its own. In its own
    session the sweeper takes from nobody's share in particular (docs/load.md, §1, fourth
    session). A process that already leads its group (``worklist sweeper`` run on its own,
    under systemd or a shell) may not call setsid, and has its own session anyway."""
    if sys.platform.startswith("linux") and os.getpgid(0) != os.getpid():
        os.setsid()


def spawned_sweeper(parent: int) -> None:
    """The sweeper as ``serve_many`` runs it: in a session of its own, stopping with the
    service (a kill of the service's process group no longer reaches it)."""
    _stop_with_parent(parent)
    _own_scheduling_group()
    sweep_process()


def spawned_worker(parent: int, host: str, port: int) -> None:
    """An API worker as ``serve_many`` runs it: stopping with the service."""
    _stop_with_parent(parent)
    serve_one(host, port, True)


def sweep_process() -> None:
    """Housekeeping in its own process, so its bursts never hold an API worker's GIL."""
    from worklist.reporting.sweeper import sweep_forever
    from worklist.services import open_services
    from worklist.settings import Settings
    from worklist.stopping import stop_event

    stop = stop_event(signal.SIGTERM)
    # A backlog pass (thousands of widenings, a prediction over every waiting study) is a CPU
    # burst; at a lower priority it yields the cores to reporters' requests.
    os.nice(SWEEPER_NICENESS)
    services = open_services(Settings())
    try:
        sweep_forever(services, stop)
    finally:
        services.close()


def serve_many(host: str, port: int, workers: int) -> None:
    """Start ``workers`` API processes and one sweeper; stop them all on SIGTERM/SIGINT."""
    ctx = multiprocessing.get_context("spawn")
    me = os.getpid()
    processes = [ctx.Process(target=spawned_sweeper, args=(me,), name="worklist-sweeper")]
    os.environ["WORKLIST_RUN_SWEEPER"] = "false"  # the API workers leave housekeeping to it
    processes += [
        ctx.Process(target=spawned_worker, args=(me, host, port), name=f"worklist-{i}")
        for i in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
    if any(p.exitcode not in (0, -signal.SIGTERM) for p in processes):
        sys.exit(1)
