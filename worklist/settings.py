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

    lease_seconds: int = Field(default=20 * 60, ge=10)
    patient_hold_seconds: int = Field(default=30 * 60, ge=10)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)

    # Ranking weights, in minutes of due time (DESIGN.md section 4).
    subspecialty_bonus_minutes: int = 60
    home_site_bonus_minutes: int = 30
    radiographer_deferral_minutes: int = 240
    deferral_min_slack_minutes: int = 60
    # Widening: fraction of the TAT target left when a study widens a stage.
    widen_to_radiologists_at: float = 0.5
    widen_to_outsourcing_at: float = 0.1

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
