"""The one settings class: every knob comes from a ``WORKLIST_`` environment variable."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read once by the app factory or the CLI (never at import)."""

    model_config = SettingsConfigDict(env_prefix="WORKLIST_", env_file=None, extra="ignore")

    data_dir: Path = Path(".worklist")
    database_url: str | None = None
    redis_url: str | None = None
    admin_token: SecretStr | None = None
    patient_hash_key: SecretStr | None = None
    default_network: str = "default"
    timezone: str = "Europe/London"
    auto_migrate: bool = True

    # PostgreSQL: asyncio connections per API worker for claims, completions and hand-backs,
    # so requests waiting on the database overlap on the event loop; 0 (the default, faster
    # on the 2-core load test, docs/load.md) keeps them on the loop's one blocking connection.
    hot_path_connections: int = Field(default=0, ge=0)

    # Each API worker's interpreter switch interval (sys.setswitchinterval), in ms: how long a
    # thread-pool thread (a dashboard, an ingest batch) may keep the GIL once the event loop
    # wants it back. The hot path gives the GIL up at every Redis and PostgreSQL round trip,
    # and with CPython's 5 ms each of them could wait that long (load_tests/bench_switch_interval).
    gil_switch_interval_ms: float = Field(default=0.5, gt=0, le=100)

    lease_seconds: int = Field(default=20 * 60, ge=10)
    patient_hold_seconds: int = Field(default=30 * 60, ge=10)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)
    # False when a separate `worklist sweeper` process does housekeeping (serve --workers N).
    run_sweeper: bool = True

    # Ranking weights, in minutes of due time (DESIGN.md section 4).
    subspecialty_bonus_minutes: int = 60
    home_site_bonus_minutes: int = 30
    radiographer_deferral_minutes: int = 240
    deferral_min_slack_minutes: int = 60
    # Widening: fraction of the TAT target left when a study widens a stage.
    widen_to_radiologists_at: float = 0.5
    widen_to_outsourcing_at: float = 0.1

    # Sourcing (docs/sourcing.md): breach prediction, outsourcing policy, review sampling.
    reporter_work_units_per_hour: float = Field(default=12.0, gt=0)
    on_duty_default_hours: float = Field(default=4.0, ge=0)
    prediction_interval_seconds: float = Field(default=60.0, gt=0)
    prediction_horizon_hours: float = Field(default=7 * 24.0, gt=0)
    # A stored prediction is rewritten when its start or finish moves by more than this many
    # minutes, or this share of the time still to go, whichever is larger (or its flag moves).
    prediction_tolerance_minutes: float = Field(default=5.0, ge=0)
    prediction_tolerance_share: float = Field(default=0.1, ge=0, le=1)
    outsourcing_mode: str = Field(default="recommend", pattern="^(off|recommend|auto)$")
    outsourcing_daily_budget: float = Field(default=0.0, ge=0)
    review_share_radiographer: float = Field(default=0.1, ge=0, le=1)
    review_share_registrar: float = Field(default=0.1, ge=0, le=1)
    review_share_all: float = Field(default=0.02, ge=0, le=1)
    outbound_max_attempts: int = Field(default=5, ge=1)

    token_default_days: int = 365
    log_level: str = "INFO"
    log_json: bool = True

    api_url: str = "http://127.0.0.1:8000"
    feed_token: SecretStr | None = None

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: explicit, or a SQLite file in the data directory."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'worklist.db').resolve()}"

    def resolved_patient_hash_key(self) -> bytes:
        """The network secret used to hash patient ids; generated once per data dir if unset."""
        if self.patient_hash_key is not None:
            return self.patient_hash_key.get_secret_value().encode()
        path = self.data_dir / "patient-hash.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()
