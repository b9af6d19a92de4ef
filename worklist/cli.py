"""The `worklist` command: serve, demo, database, tokens, allocator, connectors."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from worklist.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    from worklist.serving import serve_many, serve_one

    settings = Settings()
    # With a shared Redis the sweeper gets its own (niced) process even beside one worker: its
    # passes over a large backlog would otherwise take the API process's GIL for seconds.
    if args.workers > 1 or (settings.redis_url and settings.run_sweeper):
        if not settings.redis_url:
            raise ValueError("--workers > 1 needs WORKLIST_REDIS_URL (a shared Redis server)")
        _prepare_database(settings)
        os.environ["WORKLIST_AUTO_MIGRATE"] = "false"  # done once here, not by every worker
        serve_many(args.host, args.port, args.workers)
    else:
        serve_one(args.host, args.port, reuse_port=False)
    return 0


def _prepare_database(settings: Settings) -> None:
    """Migrate and seed reference defaults once, before any worker starts."""
    from worklist import db
    from worklist.services import seed_reference_defaults

    url = settings.resolved_database_url()
    db.upgrade(url)
    engine = db.make_engine(url)
    seed_reference_defaults(engine)
    engine.dispose()


def _db_upgrade(_: argparse.Namespace) -> int:
    from worklist import db

    settings = Settings()
    db.upgrade(settings.resolved_database_url())
    print("database is at the newest schema")
    return 0


def _tokens_create(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from worklist import db
    from worklist.auth.tokens import mint_token

    settings = Settings()
    url = settings.resolved_database_url()
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        plain, row = mint_token(session, args.role, args.reporter, args.label, args.days)
    print(
        json.dumps({"token": plain, "id": row.id, "role": row.role, "reporter_id": row.reporter_id})
    )
    return 0


def _allocator_rebuild(_: argparse.Namespace) -> int:
    from worklist.reporting.recovery import rebuild_network
    from worklist.services import open_services

    services = open_services(Settings())
    try:
        for network in services.networks():
            counts = rebuild_network(services, network)
            print(json.dumps({"network": network, **counts}))
    finally:
        services.close()
    return 0


def _sweep(_: argparse.Namespace) -> int:
    from worklist.reporting.sweeper import sweep_once
    from worklist.services import open_services

    services = open_services(Settings())
    try:
        print(json.dumps(sweep_once(services)))
    finally:
        services.close()
    return 0


def _sweeper(_: argparse.Namespace) -> int:
    from worklist.serving import sweep_process

    sweep_process()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from worklist.demo import run_demo

    return run_demo(host=args.host, port=args.port, rate=args.rate, reporters=args.reporters)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worklist", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API, pages and /metrics")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (needs WORKLIST_REDIS_URL)"
    )
    serve.set_defaults(func=_serve)

    demo = commands.add_parser("demo", help="seed a demo network, serve it and feed it studies")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--rate", type=float, default=2.0, help="simulated studies per second")
    demo.add_argument(
        "--reporters", type=int, default=12, help="simulated reporters pulling and completing"
    )
    demo.set_defaults(func=_demo)

    database = commands.add_parser("db", help="database maintenance")
    db_commands = database.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    tokens = commands.add_parser("tokens", help="API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create", help="mint a token and print it once")
    create.add_argument(
        "--role", required=True, choices=["admin", "feed", "ops", "lead", "reporter"]
    )
    create.add_argument("--reporter", help="the reporter id a reporter token is bound to")
    create.add_argument("--label")
    create.add_argument("--days", type=int, default=365)
    create.set_defaults(func=_tokens_create)

    alloc = commands.add_parser("allocator", help="allocator maintenance")
    alloc_commands = alloc.add_subparsers(dest="allocator_command", required=True)
    alloc_commands.add_parser(
        "rebuild", help="rebuild every Redis structure from the database"
    ).set_defaults(func=_allocator_rebuild)
    alloc_commands.add_parser("sweep", help="one pass of lease expiry and widening").set_defaults(
        func=_sweep
    )
    commands.add_parser(
        "sweeper",
        help="run housekeeping (leases, widening, predictions) as its own process; "
        "set WORKLIST_RUN_SWEEPER=false on the API processes",
    ).set_defaults(func=_sweeper)

    from worklist.simulation.cli import register as register_simulate

    register_simulate(commands)
    try:
        from connectors.cli import register
    except ImportError:
        pass
    else:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except ValueError as e:
        print(f"worklist: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
