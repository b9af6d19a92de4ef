"""API tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from worklist.models.types import UTCDateTime


class ApiToken(SQLModel, table=True):
    """A bearer token's hash, role, optional reporter binding, expiry and revocation."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    reporter_id: str | None = Field(default=None, foreign_key="reporter.id")
    label: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
