"""docker-compose.yml is valid, runs in production mode only, and is wired as the docs say.

Validated with Debian's `docker-compose config` (no engine needed). Without the binary the
tests skip, or fail when WORKLIST_TEST_REQUIRE_ALL=1 (CI installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "WORKLIST_ADMIN_TOKEN": "admin-secret",
    "WORKLIST_PATIENT_HASH_KEY": "hash-secret",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret",
}


def _binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("WORKLIST_TEST_REQUIRE_ALL") == "1":
            pytest.fail("docker-compose is required (WORKLIST_TEST_REQUIRE_ALL=1) but missing")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    return found


def _config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with exactly ``env`` (no .env file, no inherited secrets)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "COMPOSE_FILE"}
    return subprocess.run(
        [_binary(), "--env-file", str(empty), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def stack(tmp_path: Path) -> dict[str, Any]:
    done = _config(tmp_path, SECRETS)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_every_secret_must_come_from_the_environment(tmp_path: Path, missing: str) -> None:
    done = _config(tmp_path, {k: v for k, v in SECRETS.items() if k != missing})
    assert done.returncode != 0
    assert missing in done.stderr


def test_no_secret_has_a_default_in_the_file() -> None:
    text = COMPOSE.read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is not used"
        assert all(u.startswith(":?") for u in uses), f"{name} must be required, got {uses}"
    assert "FEED_TOKEN:" not in text.replace("WORKLIST_FEED_TOKEN=$$(cat", "")


def test_the_full_stack_is_there(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name in ("api", "redis", "postgres", "prometheus", "grafana", "orthanc",
                 "orthanc-connector", "hl7-connector", "feed-token"):  # fmt: skip
        assert name in services, name
    assert services["simulator"]["profiles"] == ["demo"]


def test_api_workers_share_redis_and_postgres(stack: dict[str, Any]) -> None:
    api = stack["services"]["api"]
    command = api["command"]
    assert command[:2] == ["worklist", "serve"] and "--workers" in command
    env = api["environment"]
    assert env["WORKLIST_REDIS_URL"].startswith("redis://redis:")
    assert env["WORKLIST_DATABASE_URL"] == (
        "postgresql://worklist:pg-secret@postgres:5432/worklist"
    )
    assert env["WORKLIST_ADMIN_TOKEN"] == "admin-secret"
    assert set(api["depends_on"]) == {"postgres", "redis"}
    assert all(d["condition"] == "service_healthy" for d in api["depends_on"].values())


def test_long_running_services_have_healthchecks(stack: dict[str, Any]) -> None:
    one_shot = {"feed-token", "simulator"}
    for name, service in stack["services"].items():
        if name in one_shot or name.endswith("-connector"):
            continue
        assert "healthcheck" in service, name


def test_state_lives_in_named_volumes_and_connectors_do_not_share_it(
    stack: dict[str, Any],
) -> None:
    services, volumes = stack["services"], set(stack["volumes"])
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data"),
                         ("grafana", "/var/lib/grafana"), ("prometheus", "/prometheus"),
                         ("orthanc", "/var/lib/orthanc/db")):  # fmt: skip
        mounts = {_mount(v) for v in services[name]["volumes"]}
        assert any(t == target and s in volumes for s, t in mounts), (name, mounts)
    states = [
        s
        for name in ("orthanc-connector", "hl7-connector")
        for s, t in map(_mount, stack["services"][name]["volumes"])
        if t == "/state"
    ]
    assert len(states) == 2 and len(set(states)) == 2 and set(states) <= volumes


def test_connectors_read_the_minted_feed_token(stack: dict[str, Any]) -> None:
    for name in ("orthanc-connector", "hl7-connector"):
        service = stack["services"][name]
        assert service["depends_on"]["feed-token"]["condition"] == (
            "service_completed_successfully"
        )
        assert "cat /secrets/feed-token" in " ".join(service["entrypoint"])
        assert ("secrets", "/secrets") in {_mount(v)[:2] for v in service["volumes"]}


def test_unauthenticated_services_are_published_on_loopback_only(stack: dict[str, Any]) -> None:
    for name in ("orthanc", "prometheus"):
        for port in stack["services"][name].get("ports", []):
            assert _host_ip(port) == "127.0.0.1", (name, port)
    for name in ("redis", "postgres"):
        assert not stack["services"][name].get("ports"), name


def test_images_are_pinned(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        image = service.get("image", "")
        if image and not image.startswith("worklist-balancer"):
            assert ":" in image and not image.endswith(":latest"), (name, image)


def _mount(volume: Any) -> tuple[str, str]:
    if isinstance(volume, dict):
        return str(volume.get("source")), str(volume["target"])
    source, target = str(volume).split(":")[:2]
    return source, target


def _host_ip(port: Any) -> str | None:
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).split(":")
    return parts[0] if len(parts) == 3 else None
