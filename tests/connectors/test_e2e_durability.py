"""Outages and restarts: nothing accepted from a PACS is lost while the service is down."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.delivery import DeliveryError, FeedClient
from connectors.folder import FolderImporter
from connectors.orthanc import OrthancConfig, OrthancFollower
from connectors.scp import ScpConfig, StoreScp
from connectors.sim_dicom import cstore, dataset_for_study
from connectors.simulator import generate_studies
from connectors.sink import Sink
from connectors.state import Quarantine, StateFile
from tests.connectors.conftest import site_studies, study
from tests.connectors.peers import Orthanc, dcmtk, free_port, reidentified_copy

NOW = datetime.now(UTC).replace(microsecond=0)


def _dead_sink(state_dir: Path, source: str) -> Sink:
    """A sink whose service is unreachable (nothing listens on the port)."""
    client = FeedClient(f"http://127.0.0.1:{free_port()}", "t", max_attempts=2, backoff=0.01)
    return Sink(client, Quarantine(state_dir), source)


def test_scp_keeps_accepted_images_across_an_outage_and_a_restart(
    service: Any, sink_factory: Any, state_dir: Path
) -> None:
    port = free_port()
    config = ScpConfig(
        port=port, ae_title="WLSCP", site="RL4", host="127.0.0.1", flush_interval=0.1
    )
    down = StoreScp(config, _dead_sink(state_dir, "dicom-scp"), state_dir)
    down.start()
    sims = generate_studies(4, ["RL4"], NOW - timedelta(hours=1), seed=21)
    try:
        statuses = cstore("127.0.0.1", port, "WLSCP", [dataset_for_study(s) for s in sims])
        assert statuses == [0] * 4  # accepted while the service is unreachable
        with pytest.raises(DeliveryError):
            down.flush()
    finally:
        down.stop()  # the process "crashes" with nothing delivered
    assert site_studies(service, "RL4") == []
    up = StoreScp(config, sink_factory("dicom-scp"), state_dir)
    assert up.flush() == 4
    up.store.close()
    assert {s["study_uid"] for s in site_studies(service, "RL4")} == {s["study_uid"] for s in sims}


@pytest.mark.orthanc
def test_orthanc_cursor_does_not_move_while_the_service_is_down(
    service: Any, sink_factory: Any, state_dir: Path, tmp_path: Path, orthanc: Orthanc
) -> None:
    storescu = dcmtk("storescu")
    path = tmp_path / "x.dcm"
    uid = reidentified_copy(
        "MR_small.dcm", path, accession="DUR1", when=NOW, description="MR Brain"
    )
    subprocess.run(
        [storescu, "-aec", orthanc.aet, "127.0.0.1", str(orthanc.dicom_port), str(path)],
        check=True,
        timeout=60,
    )
    orthanc.wait_stable(1)
    config = OrthancConfig(url=orthanc.url, site="RXK")
    with pytest.raises(DeliveryError):
        OrthancFollower(config, _dead_sink(state_dir, "orthanc"), state_dir).follow_once()
    assert StateFile(state_dir, "orthanc-RXK").load().get("last_seq", 0) == 0
    stats = OrthancFollower(config, sink_factory("orthanc"), state_dir).follow_once()
    assert stats.outcome.created == 1
    got = study(service, uid)
    assert got is not None and got["exam_code"] == "MRBRA"


def test_folder_watch_picks_up_new_files(
    service: Any, sink_factory: Any, state_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    importer = FolderImporter(folder, "RXK", sink_factory("dicom-folder"), state_dir)
    stop = threading.Event()
    watcher = threading.Thread(target=importer.watch, args=(stop, 0.1), daemon=True)
    watcher.start()
    try:
        uids = [
            reidentified_copy(
                "CT_small.dcm",
                folder / f"w{i}.dcm",
                accession=f"W{i}",
                when=NOW,
                description="CT Chest",
            )
            for i in range(3)
        ]
        (folder / "junk.dcm").write_bytes(b"\x00" * 300)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(site_studies(service, "RXK")) < 3:
            time.sleep(0.2)
    finally:
        stop.set()
        watcher.join(10)
    assert {s["study_uid"] for s in site_studies(service, "RXK")} == set(uids)
    refused = [r for r in Quarantine(state_dir).records() if "junk.dcm" in str(r.get("file"))]
    assert len(refused) == 1  # named once, not on every pass
