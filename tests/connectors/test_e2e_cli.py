"""The connector commands as an operator runs them: separate processes, real peers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hl7.client import MLLPClient

from connectors.hl7_ack import AA, AE, ack_code
from tests.connectors.conftest import site_studies
from tests.connectors.peers import Orthanc, free_port, reidentified_copy
from tests.connectors.test_hl7_unit import orm

NOW = datetime.now(UTC).replace(microsecond=0)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "connectors.cli", *args]


@pytest.mark.orthanc
def test_connect_orthanc_and_dicomweb_once(
    service: Any, state_dir: Path, tmp_path: Path, orthanc: Orthanc
) -> None:
    for i in range(2):
        path = tmp_path / f"c{i}.dcm"
        reidentified_copy("CT_small.dcm", path, accession=f"CL{i}", when=NOW, description="CT Head")
        orthanc.upload(path)
    orthanc.wait_stable(2)
    token = service.token("feed")
    common = ["--api", service.url, "--token", token, "--state-dir", str(state_dir)]
    run = subprocess.run(
        _cli("connect", "orthanc", "--url", orthanc.url, "--site", "RXK", "--once", *common),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "studies sent 2" in run.stdout
    # The QIDO poller sees the same two studies: resending them updates, never duplicates.
    run = subprocess.run(
        _cli("connect", "dicomweb", "--url", orthanc.dicomweb, "--site", "RXK", "--once", *common),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "sent 2" in run.stdout
    assert len(site_studies(service, "RXK")) == 2
    bad = subprocess.run(
        _cli(
            "connect",
            "orthanc",
            "--url",
            orthanc.url,
            "--site",
            "RXK",
            "--once",
            "--api",
            service.url,
            "--token",
            "wrong",
            "--state-dir",
            str(tmp_path / "s2"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "refused the feed" in bad.stderr


def test_connect_hl7_process_acks(service: Any, state_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    site_map = tmp_path / "sites.yaml"
    site_map.write_text("RXKRIS: RXK\n")
    env = {
        **os.environ,
        "WORKLIST_API_URL": service.url,
        "WORKLIST_FEED_TOKEN": service.token("feed"),
    }
    proc = subprocess.Popen(
        _cli(
            "connect",
            "hl7",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--site-map",
            str(site_map),
            "--state-dir",
            str(state_dir),
        ),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        answer = b""
        while time.monotonic() < deadline:
            try:
                with MLLPClient("127.0.0.1", port) as client:
                    answer = client.send_message(orm(accession="CLI1"))
                break
            except OSError:
                time.sleep(0.2)
        assert ack_code(answer.decode()) == AA, answer
        with MLLPClient("127.0.0.1", port) as client:
            assert ack_code(client.send_message(orm(facility="ELSEWHERE")).decode()) == AE
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert '"event":"mllp_listening"' in err.replace(" ", "")


@pytest.mark.orthanc
def test_connect_dicom_scp_flushes_on_sigterm(
    service: Any, state_dir: Path, tmp_path: Path
) -> None:
    from tests.connectors.peers import dcmtk

    storescu, echoscu = dcmtk("storescu"), dcmtk("echoscu")
    port = free_port()
    env = {
        **os.environ,
        "WORKLIST_API_URL": service.url,
        "WORKLIST_FEED_TOKEN": service.token("feed"),
    }
    proc = subprocess.Popen(
        _cli(
            "connect",
            "dicom-scp",
            "--port",
            str(port),
            "--ae-title",
            "WLSCP",
            "--site",
            "RL4",
            "--host",
            "127.0.0.1",
            "--flush-interval",
            "60",
            "--state-dir",
            str(state_dir),
        ),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            echo = subprocess.run(
                [echoscu, "-aec", "WLSCP", "127.0.0.1", str(port)], capture_output=True, timeout=10
            )
            if echo.returncode == 0:
                break
            time.sleep(0.2)
        path = tmp_path / "s.dcm"
        uid = reidentified_copy(
            "MR_small.dcm", path, accession="SIG1", when=NOW, description="MR Knee"
        )
        subprocess.run(
            [storescu, "-aec", "WLSCP", "127.0.0.1", str(port), str(path)], check=True, timeout=30
        )
        assert site_studies(service, "RL4") == []  # the flush interval has not come round
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [s["study_uid"] for s in site_studies(service, "RL4")] == [uid]


@pytest.mark.orthanc
def test_connect_dicom_find_backfills(
    service: Any, state_dir: Path, tmp_path: Path, orthanc: Orthanc
) -> None:
    for i in range(3):
        path = tmp_path / f"f{i}.dcm"
        reidentified_copy(
            "CT_small.dcm", path, accession=f"BF{i}", when=NOW, description="CT Chest"
        )
        orthanc.upload(path)
    run = subprocess.run(
        _cli(
            "connect",
            "dicom-find",
            "--host",
            "127.0.0.1",
            "--port",
            str(orthanc.dicom_port),
            "--called-ae",
            orthanc.aet,
            "--site",
            "RXK",
            "--api",
            service.url,
            "--token",
            service.token("feed"),
            "--state-dir",
            str(state_dir),
            "--since",
            NOW.date().isoformat(),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "found 3, sent 3, created 3" in run.stdout
    codes = {s["exam_code"] for s in site_studies(service, "RXK")}
    assert codes == {"CTCHE"}
