"""DICOM feeds end to end: real Orthanc, dcmtk and pynetdicom peers into the live service."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.cfind import find_studies
from connectors.dicomweb import DicomwebPoller, QidoConfig
from connectors.folder import FolderImporter
from connectors.orthanc import OrthancConfig, OrthancFollower
from connectors.scp import ScpConfig, StoreScp
from connectors.sim_dicom import cstore, dataset_for_study
from connectors.simulator import generate_studies
from connectors.state import Quarantine
from tests.connectors.conftest import site_studies, study
from tests.connectors.peers import Orthanc, dcmtk, free_port, reidentified_copy

NOW = datetime.now(UTC).replace(microsecond=0)


def _files(folder: Path, n: int, prefix: str) -> list[str]:
    uids = []
    for i in range(n):
        source = "CT_small.dcm" if i % 2 == 0 else "MR_small.dcm"
        desc = "CT Head" if i % 2 == 0 else "MR Knee"
        uids.append(
            reidentified_copy(
                source,
                folder / f"{prefix}{i}.dcm",
                accession=f"{prefix}{i}",
                when=NOW - timedelta(hours=1),
                description=desc,
            )
        )
    return uids


def test_folder_import_names_refused_files_and_does_not_duplicate(
    service: Any, sink_factory: Any, state_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    uids = _files(folder, 4, "FA")
    good = (folder / "FA0.dcm").read_bytes()
    (folder / "cut.dcm").write_bytes(good[: len(good) - 50])
    (folder / "readme.txt").write_text("not a DICOM file")
    importer = FolderImporter(folder, "RXK", sink_factory("dicom-folder"), state_dir)
    stats = importer.scan_once()
    assert stats.studies == 4 and stats.outcome.created == 4
    refused = dict(stats.refused)
    assert "truncated" in refused[str(folder / "cut.dcm")]
    assert "not a DICOM file" in refused[str(folder / "readme.txt")]
    got = study(service, uids[0])
    assert got is not None and got["exam_code"] == "CTHEA" and got["site"] == "RXK"
    assert study(service, uids[1])["exam_code"] == "MRKNE"  # type: ignore[index]
    again = FolderImporter(folder, "RXK", sink_factory("dicom-folder"), state_dir).scan_once()
    assert again.outcome.created == again.outcome.updated == 0 and again.skipped == 4
    assert len(site_studies(service, "RXK")) == 4
    reasons = [r["reason"] for r in Quarantine(state_dir).records()]
    assert any("truncated" in r for r in reasons)


def test_folder_cli_unknown_site_and_exit_code(
    service: Any, state_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "cli"
    _files(folder, 2, "FC")
    cmd = [
        sys.executable,
        "-m",
        "connectors.cli",
        "connect",
        "dicom-folder",
        str(folder),
        "--api",
        service.url,
        "--token",
        service.token("feed"),
        "--state-dir",
        str(state_dir),
    ]
    run = subprocess.run([*cmd, "--site", "NOPE"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert run.stdout.count("REFUSED") == 2 and "rejected by the service" in run.stdout
    assert '"event": "quarantined"' in run.stderr or '"event":"quarantined"' in run.stderr
    ok = subprocess.run([*cmd, "--site", "RL4"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert len(site_studies(service, "RL4")) == 2


@pytest.mark.orthanc
def test_orthanc_change_feed_restarts_without_loss_or_duplicates(
    service: Any, sink_factory: Any, state_dir: Path, tmp_path: Path, orthanc: Orthanc
) -> None:
    storescu = dcmtk("storescu")
    folder = tmp_path / "o1"
    first = _files(folder, 3, "OR")
    subprocess.run(
        [
            storescu,
            "-aec",
            orthanc.aet,
            "127.0.0.1",
            str(orthanc.dicom_port),
            *[str(p) for p in sorted(folder.glob("*.dcm"))],
        ],
        check=True,
        timeout=60,
    )
    orthanc.wait_stable(3)
    config = OrthancConfig(url=orthanc.url, site="RXK")
    stats = OrthancFollower(config, sink_factory("orthanc"), state_dir).follow_once()
    assert stats.outcome.created == 3
    got = study(service, first[0])
    assert got is not None and got["modality"] == "CT" and got["patient_age"] == 67
    # A restarted follower resumes from its cursor: nothing is resent...
    again = OrthancFollower(config, sink_factory("orthanc"), state_dir).follow_once()
    assert again.studies == 0
    # ...and a new study arriving while it was down is picked up.
    later = _files(tmp_path / "o2", 1, "OS")
    orthanc.upload(tmp_path / "o2" / "OS0.dcm")
    orthanc.wait_stable(4)
    third = OrthancFollower(config, sink_factory("orthanc"), state_dir).follow_once()
    assert third.studies == 1 and third.outcome.created == 1
    assert study(service, later[0]) is not None
    assert len(site_studies(service, "RXK")) == 4


@pytest.mark.orthanc
def test_qido_poller_pages_and_keeps_its_cursor(
    service: Any, sink_factory: Any, state_dir: Path, tmp_path: Path, orthanc: Orthanc
) -> None:
    folder = tmp_path / "q"
    uids = _files(folder, 5, "QD")
    for path in sorted(folder.glob("*.dcm")):
        orthanc.upload(path)
    config = QidoConfig(url=orthanc.dicomweb, site="RL4", page_size=2, interval=0.1)
    stats = DicomwebPoller(config, sink_factory("dicomweb"), state_dir).poll_once()
    assert stats.seen == 5 and stats.outcome.created == 5
    assert {s["study_uid"] for s in site_studies(service, "RL4")} == set(uids)
    assert study(service, uids[1])["exam_code"] == "MRKNE"  # type: ignore[index]
    restarted = DicomwebPoller(config, sink_factory("dicomweb"), state_dir).poll_once()
    assert restarted.sent == 0 and restarted.unchanged == 5
    extra = _files(tmp_path / "q2", 1, "QE")
    orthanc.upload(tmp_path / "q2" / "QE0.dcm")
    third = DicomwebPoller(config, sink_factory("dicomweb"), state_dir).poll_once()
    assert third.sent == 1 and third.outcome.created == 1
    assert study(service, extra[0]) is not None


@pytest.mark.orthanc
def test_cstore_scp_from_dcmtk_and_pynetdicom(
    service: Any, sink_factory: Any, state_dir: Path, tmp_path: Path
) -> None:
    storescu = dcmtk("storescu")
    port = free_port()
    config = ScpConfig(
        port=port, ae_title="WLSCP", site="RXK", host="127.0.0.1", flush_interval=0.2
    )
    scp = StoreScp(config, sink_factory("dicom-scp"), state_dir)
    scp.start()
    try:
        folder = tmp_path / "scp"
        uid = reidentified_copy(
            "CT_small.dcm", folder / "a.dcm", accession="SC1", when=NOW, description="CT Head"
        )
        reidentified_copy(
            "CT_small.dcm",
            folder / "b.dcm",
            accession="SC1",
            when=NOW,
            description="CT Head",
            study_uid=uid,
            instance=2,
        )
        subprocess.run(
            [
                storescu,
                "-aec",
                "WLSCP",
                "127.0.0.1",
                str(port),
                str(folder / "a.dcm"),
                str(folder / "b.dcm"),
            ],
            check=True,
            timeout=60,
        )
        # A JPEG-compressed image is accepted as it is: only its header is read.
        jpeg_uid = reidentified_copy(
            "CT_small.dcm", folder / "c.dcm", accession="SC2", when=NOW, description="CT Chest"
        )
        subprocess.run(
            [dcmtk("dcmcjpeg"), str(folder / "c.dcm"), str(folder / "c-jpeg.dcm")],
            check=True,
            timeout=60,
        )
        subprocess.run(
            [storescu, "-xs", "-aec", "WLSCP", "127.0.0.1", str(port), str(folder / "c-jpeg.dcm")],
            check=True,
            timeout=60,
        )
        sims = generate_studies(3, ["RXK"], NOW - timedelta(hours=2), seed=11)
        assert cstore("127.0.0.1", port, "WLSCP", [dataset_for_study(s) for s in sims]) == [0] * 3
        scp.flush()
    finally:
        scp.stop()
    assert scp.received == 6
    got = study(service, uid)
    assert got is not None and got["exam_code"] == "CTHEA"
    assert study(service, jpeg_uid)["exam_code"] == "CTCHE"  # type: ignore[index]
    assert len(site_studies(service, "RXK")) == 5  # two instances, one study
    # A restart re-opens the store; the same study arriving again is not resent.
    again = StoreScp(config, sink_factory("dicom-scp"), state_dir)
    again.start()
    try:
        subprocess.run(
            [storescu, "-aec", "WLSCP", "127.0.0.1", str(port), str(folder / "a.dcm")],
            check=True,
            timeout=60,
        )
        assert again.flush() == 0
    finally:
        again.stop()


@pytest.mark.orthanc
def test_cfind_against_orthanc(orthanc: Orthanc, tmp_path: Path) -> None:
    uids = _files(tmp_path / "f", 2, "CF")
    for path in sorted((tmp_path / "f").glob("*.dcm")):
        orthanc.upload(path)
    found = find_studies(
        "127.0.0.1", orthanc.dicom_port, orthanc.aet, start=(NOW - timedelta(days=1)).date()
    )
    assert {f["StudyInstanceUID"] for f in found} == set(uids)
    assert all("PatientName" not in f for f in found)
    assert {f["AccessionNumber"] for f in found} == {"CF0", "CF1"}
