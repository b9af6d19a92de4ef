"""HL7 over MLLP and the simulator, end to end: a real MLLP client into the live service."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hl7.client import MLLPClient

from connectors.delivery import FeedClient
from connectors.hl7_ack import AA, AE, AR, ack_code
from connectors.hl7_map import Hl7Rules
from connectors.hl7_server import Hl7Handler, MllpServer
from connectors.orthanc import OrthancConfig, OrthancFollower
from connectors.sink import Sink
from connectors.state import Quarantine
from tests.connectors.conftest import site_studies, study
from tests.connectors.peers import Orthanc, free_port
from tests.connectors.test_hl7_unit import orm, oru

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def mllp(feed: FeedClient, state_dir: Path) -> Iterator[int]:
    """The MLLP listener on a free port, in its own event loop thread."""
    rules = Hl7Rules(site_map={"RXKRIS": "RXK"})
    server = MllpServer(
        Hl7Handler(rules, Sink(feed, Quarantine(state_dir), "hl7"), Quarantine(state_dir)),
        host="127.0.0.1",
        port=free_port(),
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield server.port
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _send(port: int, message: str) -> str:
    with MLLPClient("127.0.0.1", port) as client:
        answer = client.send_message(message)
    return answer.decode() if isinstance(answer, bytes) else str(answer)


def test_orders_join_studies_and_reports_close_them(
    service: Any, feed: FeedClient, mllp: int, state_dir: Path
) -> None:
    uid = "1.2.826.0.1.3680043.8.498.777001"
    created = feed.post_studies(
        [
            {
                "study_uid": uid,
                "accession": "ACC100",
                "site": "RXK",
                "modality": "CT",
                "acquired_at": NOW.isoformat(),
            }
        ]
    )
    assert created["created"] == 1
    before = study(service, uid)
    assert before is not None and before["urgency"] != "stroke"
    ack = _send(mllp, orm(clinical="code stroke", priority="S"))
    assert ack_code(ack) == AA, ack
    after = study(service, uid)
    assert after is not None and after["urgency"] == "stroke"
    assert after["patient_source"] == "ed" and after["exam_code"] == "CTHEA"
    # The order arriving first also works: the study joins it when it comes.
    assert (
        ack_code(
            _send(
                mllp,
                orm(accession="ACC200", priority="R", patient_class="O", ordering="G1234567^GP^A"),
            )
        )
        == AA
    )
    feed.post_studies(
        [
            {
                "study_uid": uid + "2",
                "accession": "ACC200",
                "site": "RXK",
                "modality": "CR",
                "acquired_at": NOW.isoformat(),
            }
        ]
    )
    joined = study(service, uid + "2")
    assert joined is not None and joined["patient_source"] == "gp"
    # An outsourced report comes back as a final ORU.
    assert ack_code(_send(mllp, oru(status="P"))) == AA
    assert study(service, uid)["status"] != "reported"  # type: ignore[index]
    assert ack_code(_send(mllp, oru(status="F"))) == AA
    assert study(service, uid)["status"] == "reported"  # type: ignore[index]


def test_bad_messages_get_ar_or_ae_and_the_listener_keeps_going(
    service: Any, mllp: int, state_dir: Path
) -> None:
    assert ack_code(_send(mllp, "this is not HL7")) == AR
    unknown_site = _send(mllp, orm(facility="NOWHERE"))
    assert ack_code(unknown_site) == AE and "NOWHERE" in unknown_site
    assert ack_code(_send(mllp, orm().replace("ORM^O01", "ADT^A01"))) == AR
    no_accession = orm(accession="").replace("|PLC1|FIL1|", "|||")
    assert ack_code(_send(mllp, no_accession)) == AE
    assert ack_code(_send(mllp, orm(accession="ACC300"))) == AA  # still serving
    records = Quarantine(state_dir).records()
    assert len(records) >= 4
    assert all("DOE" not in str(r["item"]) for r in records)


def test_simulator_batches_into_the_api_idempotently(service: Any, feed: FeedClient) -> None:
    from connectors.simulator import generate_studies

    studies = generate_studies(300, ["RXK", "RL4"], NOW - timedelta(hours=6), seed=5)
    first = feed.post_studies(studies)
    assert first["created"] == 300 and not first["rejected"]
    second = feed.post_studies(studies)
    assert second["created"] == 0 and second["updated"] == 300
    assert len(site_studies(service, "RXK")) + len(site_studies(service, "RL4")) == 300


def test_simulate_feed_cli_into_the_api(service: Any) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.cli",
            "simulate-feed",
            "--api",
            service.url,
            "--token",
            service.token("feed"),
            "--count",
            "120",
            "--rate",
            "0",
            "--seed",
            "9",
            "--sites",
            "RXK,RL4",
            "--batch",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "sent 120/120" in run.stdout
    assert len(site_studies(service, "RXK")) + len(site_studies(service, "RL4")) == 120


@pytest.mark.orthanc
def test_simulate_feed_over_stow_then_orthanc_feed(
    service: Any, sink_factory: Any, state_dir: Path, orthanc: Orthanc
) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.cli",
            "simulate-feed",
            "--target",
            "orthanc-stow",
            "--dicomweb-url",
            orthanc.dicomweb,
            "--count",
            "12",
            "--rate",
            "0",
            "--seed",
            "2",
            "--sites",
            "RXK",
            "--batch",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    orthanc.wait_stable(12)
    stats = OrthancFollower(
        OrthancConfig(url=orthanc.url, site="RXK"), sink_factory("orthanc"), state_dir
    ).follow_once()
    assert stats.outcome.created == 12
    assert len(site_studies(service, "RXK")) == 12


@pytest.mark.orthanc
def test_simulate_feed_over_cstore_then_qido(
    service: Any, sink_factory: Any, state_dir: Path, orthanc: Orthanc
) -> None:
    from connectors.dicomweb import DicomwebPoller, QidoConfig

    start = (NOW - timedelta(hours=3)).isoformat()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.cli",
            "simulate-feed",
            "--target",
            "cstore",
            "--host",
            "127.0.0.1",
            "--port",
            str(orthanc.dicom_port),
            "--called-ae",
            orthanc.aet,
            "--count",
            "8",
            "--rate",
            "0",
            "--seed",
            "4",
            "--sites",
            "RL4",
            "--start",
            start,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    config = QidoConfig(url=orthanc.dicomweb, site="RL4", lookback_days=2)
    stats = DicomwebPoller(config, sink_factory("dicomweb"), state_dir).poll_once()
    assert stats.outcome.created == 8
    from connectors.simulator import generate_studies

    expected = generate_studies(8, ["RL4"], datetime.fromisoformat(start), seed=4)
    for sent in expected:
        got = study(service, sent["study_uid"])
        assert got is not None
        assert got["modality"] == sent["modality"]
        assert got["body_part"] == sent["body_part"]
        assert got["patient_age"] == sent["patient_age"]
        assert datetime.fromisoformat(got["acquired_at"]) == datetime.fromisoformat(
            sent["acquired_at"]
        ).replace(microsecond=0)
