"""``worklist connect ...`` and ``worklist simulate-feed``: the connector processes.

Registered into ``worklist/cli.py`` (which calls ``args.func(args)``); ``python -m connectors.cli``
works too.
Exit codes: 0 done, 1 some input refused (dicom-folder), 2 bad configuration or credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from connectors import jsonlog
from connectors.delivery import DeliveryError, DeliveryRejected, FeedClient
from connectors.exam_rules import ConfigError, ExamMapper
from connectors.sink import Sink
from connectors.sitemap import load_site_map
from connectors.state import Quarantine

DEFAULT_STATE_DIR = ".worklist/connectors"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        default=os.environ.get("WORKLIST_API_URL", "http://127.0.0.1:8000"),
        help="service base URL (WORKLIST_API_URL)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("WORKLIST_FEED_TOKEN"),
        help="feed token (WORKLIST_FEED_TOKEN)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("WORKLIST_CONNECTOR_STATE", DEFAULT_STATE_DIR)),
        help="cursor files and the quarantine of refused input",
    )
    parser.add_argument(
        "--exam-rules",
        type=Path,
        default=None,
        help="YAML/CSV rules: description or code -> exam code, body part",
    )
    parser.add_argument(
        "--tz", default=None, help="time zone of DICOM/HL7 local times (default Europe/London)"
    )
    parser.add_argument("--log-level", default="INFO")


def _site_map_arg(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    return load_site_map(Path(text))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``connect`` (with one sub-command per feed) and ``simulate-feed``."""
    connect = subparsers.add_parser("connect", help="run a PACS or RIS feed into the service")
    feeds = connect.add_subparsers(dest="feed", required=True)

    p = feeds.add_parser("dicomweb", help="poll a DICOMweb QIDO-RS /studies search")
    _common(p)
    p.add_argument("--url", required=True, help="QIDO-RS base URL, e.g. http://pacs/dicom-web")
    p.add_argument("--site", required=True)
    p.add_argument("--interval", type=float, default=60.0)
    p.add_argument("--lookback-days", type=int, default=1, help="first run: days to backfill")
    p.add_argument("--overlap-days", type=int, default=1, help="days re-read on each poll")
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--institution-map", help="InstitutionName -> site (YAML file or A=B,...)")
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.set_defaults(run=_run_dicomweb, func=run)

    p = feeds.add_parser("orthanc", help="follow an Orthanc's /changes feed (StableStudy)")
    _common(p)
    p.add_argument("--url", required=True, help="Orthanc REST URL, e.g. http://orthanc:8042")
    p.add_argument("--site", required=True)
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--user", default=os.environ.get("ORTHANC_USER"))
    p.add_argument("--password", default=os.environ.get("ORTHANC_PASSWORD"))
    p.add_argument("--institution-map")
    p.add_argument("--once", action="store_true", help="read the feed to its end and exit")
    p.set_defaults(run=_run_orthanc, func=run)

    p = feeds.add_parser("dicom-scp", help="C-STORE SCP: receive images, ingest their headers")
    _common(p)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ae-title", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--flush-interval", type=float, default=2.0)
    p.add_argument("--calling-ae-map", help="calling AE title -> site (YAML file or A=B,...)")
    p.add_argument("--institution-map")
    p.set_defaults(run=_run_scp, func=run)

    p = feeds.add_parser("dicom-find", help="C-FIND a PACS at study level and ingest (backfill)")
    _common(p)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--called-ae", required=True)
    p.add_argument("--calling-ae", default="WORKLIST")
    p.add_argument("--site", required=True)
    p.add_argument("--since", type=date.fromisoformat, help="first study date (YYYY-MM-DD)")
    p.add_argument("--until", type=date.fromisoformat, help="last study date (YYYY-MM-DD)")
    p.add_argument("--institution-map")
    p.set_defaults(run=_run_find, func=run)

    p = feeds.add_parser("dicom-folder", help="import a folder of DICOM files")
    _common(p)
    p.add_argument("path", type=Path)
    p.add_argument("--site", required=True)
    p.add_argument("--watch", action="store_true", help="keep watching for new files")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--institution-map")
    p.set_defaults(run=_run_folder, func=run)

    p = feeds.add_parser("hl7", help="HL7 v2 over MLLP: ORM orders and ORU results")
    _common(p)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--site-map", help="MSH-4 sending facility -> site (YAML file or A=B,...)")
    p.add_argument("--site", help="site for facilities not in the map (default: MSH-4 itself)")
    p.set_defaults(run=_run_hl7, func=run)

    p = subparsers.add_parser("simulate-feed", help="simulated PACS traffic into the service")
    _common(p)
    p.add_argument("--rate", type=float, default=10.0, help="studies a second (0: no pacing)")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sites", default="RXK", help="comma-separated site codes")
    p.add_argument("--target", choices=["api", "orthanc-stow", "cstore"], default="api")
    p.add_argument("--dicomweb-url", help="STOW-RS base URL (target orthanc-stow)")
    p.add_argument("--host", default="127.0.0.1", help="C-STORE peer (target cstore)")
    p.add_argument("--port", type=int, default=4242)
    p.add_argument("--called-ae", default="ORTHANC")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--start", type=datetime.fromisoformat, help="first acquisition time")
    p.set_defaults(run=_run_simulate, func=run)


# -- helpers ----------------------------------------------------------------------------------
def _client(args: argparse.Namespace) -> FeedClient:
    if not args.token:
        raise ConfigError("no feed token: pass --token or set WORKLIST_FEED_TOKEN")
    return FeedClient(args.api, args.token)


def _mapper(args: argparse.Namespace) -> ExamMapper:
    return ExamMapper.from_file(args.exam_rules)


def _sink(args: argparse.Namespace, source: str) -> Sink:
    return Sink(_client(args), Quarantine(args.state_dir), source)


def _stop_event() -> threading.Event:
    """SIGINT/SIGTERM set it (imported here: connectors otherwise need nothing of worklist)."""
    from worklist.stopping import stop_event

    return stop_event()


# -- runners ----------------------------------------------------------------------------------
def _run_dicomweb(args: argparse.Namespace) -> int:
    from connectors.dicomweb import DicomwebPoller, QidoConfig

    config = QidoConfig(
        url=args.url,
        site=args.site,
        interval=args.interval,
        lookback_days=args.lookback_days,
        overlap_days=args.overlap_days,
        page_size=args.page_size,
        tz=args.tz,
        institution_sites=_site_map_arg(args.institution_map),
    )
    poller = DicomwebPoller(config, _sink(args, "dicomweb"), args.state_dir, _mapper(args))
    if args.once:
        stats = poller.poll_once()
        print(
            f"seen {stats.seen}, sent {stats.sent}, refused {stats.refused}, "
            f"rejected {len(stats.outcome.rejected)}"
        )
        return 0
    poller.run(_stop_event())
    return 0


def _run_orthanc(args: argparse.Namespace) -> int:
    from connectors.orthanc import OrthancConfig, OrthancFollower

    auth = (args.user, args.password) if args.user else None
    config = OrthancConfig(
        url=args.url,
        site=args.site,
        interval=args.interval,
        tz=args.tz,
        auth=auth,
        institution_sites=_site_map_arg(args.institution_map),
    )
    follower = OrthancFollower(config, _sink(args, "orthanc"), args.state_dir, _mapper(args))
    if args.once:
        stats = follower.follow_once()
        print(f"changes {stats.changes}, studies sent {stats.studies}, refused {stats.refused}")
        return 0
    follower.run(_stop_event())
    return 0


def _run_scp(args: argparse.Namespace) -> int:
    from connectors.scp import ScpConfig, StoreScp

    config = ScpConfig(
        port=args.port,
        ae_title=args.ae_title,
        site=args.site,
        host=args.host,
        flush_interval=args.flush_interval,
        tz=args.tz,
        calling_ae_sites=_site_map_arg(args.calling_ae_map),
        institution_sites=_site_map_arg(args.institution_map),
    )
    scp = StoreScp(config, _sink(args, "dicom-scp"), args.state_dir, _mapper(args))
    stop = _stop_event()
    scp.start()
    try:
        stop.wait()
    finally:
        scp.stop()
    return 0


def _run_find(args: argparse.Namespace) -> int:
    from connectors.cfind import find_studies
    from connectors.dicom_map import MappingError, SiteResolver, study_from_attrs

    sink = _sink(args, "dicom-find")
    resolver = SiteResolver(args.site, _site_map_arg(args.institution_map))
    mapper = _mapper(args)
    found = find_studies(
        args.host,
        args.port,
        args.called_ae,
        calling_ae=args.calling_ae,
        start=args.since,
        end=args.until,
    )
    items = []
    for attrs in found:
        try:
            items.append(study_from_attrs(attrs, resolver, mapper, tz=args.tz))
        except MappingError as exc:
            sink.quarantine.add(
                "dicom-find", str(exc), {"StudyInstanceUID": attrs.get("StudyInstanceUID")}
            )
    outcome = sink.studies(items)
    print(
        f"found {len(found)}, sent {len(items)}, created {outcome.created}, "
        f"updated {outcome.updated}, rejected {len(outcome.rejected)}"
    )
    return 0


def _run_folder(args: argparse.Namespace) -> int:
    from connectors.folder import FolderImporter

    importer = FolderImporter(
        args.path,
        args.site,
        _sink(args, "dicom-folder"),
        args.state_dir,
        _mapper(args),
        tz=args.tz,
        settle_seconds=1.0 if args.watch else 0.0,
        institution_sites=_site_map_arg(args.institution_map),
    )
    if args.watch:
        importer.watch(_stop_event(), interval=args.interval)
        return 0
    stats = importer.scan_once()
    for path, reason in stats.refused:
        print(f"REFUSED {path}: {reason}")
    print(
        f"files {stats.files}: imported {stats.imported}, skipped {stats.skipped} "
        f"(already imported), refused {len(stats.refused)}; studies sent {stats.studies}"
    )
    return 1 if stats.refused else 0


def _run_hl7(args: argparse.Namespace) -> int:
    from connectors.hl7_map import Hl7Rules
    from connectors.hl7_server import Hl7Handler, MllpServer

    rules = Hl7Rules(
        site_map=_site_map_arg(args.site_map),
        default_site=args.site,
        tz=args.tz,
        mapper=_mapper(args),
    )
    handler = Hl7Handler(rules, _sink(args, "hl7"), Quarantine(args.state_dir))
    server = MllpServer(handler, host=args.host, port=args.port)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(server.serve_forever())
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            await server.stop()

    asyncio.run(main())
    return 0


def _run_simulate(args: argparse.Namespace) -> int:
    from connectors.simulator import generate_studies

    sites = [s.strip().upper() for s in args.sites.split(",") if s.strip()]
    start = args.start or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    per_day = args.rate * 86_400 if args.rate > 0 else 14_000
    studies = generate_studies(args.count, sites, start, args.seed, per_day=per_day)
    sink = _sink(args, "simulator") if args.target == "api" else None
    began = time.monotonic()
    sent = 0
    for offset in range(0, len(studies), args.batch):
        batch = studies[offset : offset + args.batch]
        if args.target == "api":
            assert sink is not None
            sink.studies(batch)
        else:
            from connectors.sim_dicom import cstore, dataset_for_study, stow

            datasets = [dataset_for_study(s) for s in batch]
            if args.target == "orthanc-stow":
                if not args.dicomweb_url:
                    raise ConfigError("--dicomweb-url is needed for --target orthanc-stow")
                stow(args.dicomweb_url, datasets)
            else:
                cstore(args.host, args.port, args.called_ae, datasets)
        sent += len(batch)
        if args.rate > 0:
            ahead = sent / args.rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
        if offset // args.batch % 10 == 9 or sent == len(studies):
            elapsed = time.monotonic() - began
            print(
                f"sent {sent}/{len(studies)} in {elapsed:.1f}s ({sent / max(elapsed, 1e-9):.0f}/s)",
                flush=True,
            )
    return 0


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``connect``/``simulate-feed`` command; configuration errors exit 2."""
    jsonlog.configure(args.log_level)
    try:
        code: int = args.run(args)
        return code
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DeliveryRejected as exc:
        print(f"error: the service refused the feed: {exc}", file=sys.stderr)
        return 2
    except DeliveryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worklist", description="worklist connectors")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
