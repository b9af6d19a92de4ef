"""Sourcing tables: rates and prices (versioned by date), rosters, outsourcing orders and
policy, breach predictions and second-read reviews (issue 5, docs/sourcing.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from worklist.models.types import UTCDateTime


class SessionRate(SQLModel, table=True):
    """A network rate for core or insourced reporting, effective from a date.

    ``basis`` is ``work_unit`` (amount per work unit reported) or ``session`` (amount per
    session, apportioned over the session's reports by work units). ``group`` narrows it to one
    reporter group; null applies to every group without a rate of its own.
    """

    __table_args__ = (Index("ix_sessionrate_lookup", "network", "kind", "effective_from"),)

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(foreign_key="network.code", max_length=32)
    kind: str = Field(max_length=16)  # core | insourced
    group: str | None = Field(default=None, max_length=16)
    basis: str = Field(max_length=16)  # work_unit | session
    amount: float
    effective_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProviderPrice(SQLModel, table=True):
    """One item of a provider's price list (a modality, or an exam code) from a date."""

    __table_args__ = (
        UniqueConstraint("provider_id", "item", "effective_from", name="uq_providerprice_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_id: str = Field(foreign_key="provider.id", max_length=64, index=True)
    item: str = Field(max_length=40)  # "modality:CT" or "exam:CTCAP"
    price: float
    effective_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProviderEndpoint(SQLModel, table=True):
    """Where a provider takes orders: HL7 v2 ORM^O01 over MLLP."""

    provider_id: str = Field(foreign_key="provider.id", primary_key=True, max_length=64)
    host: str
    port: int
    receiving_application: str = "PROVIDER"
    receiving_facility: str = ""
    timeout_seconds: float = 5.0


class OutsourcingOrder(SQLModel, table=True):
    """A study sent to a provider: the price fixed at sending, the contracted due time and
    the delivery of the order message."""

    __table_args__ = (
        Index("ix_outsourcingorder_study", "study_id"),
        Index("ix_outsourcingorder_sent", "network", "sent_at"),
        Index("ix_outsourcingorder_delivery", "delivery"),
    )

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id")
    network: str = Field(max_length=32)
    provider_id: str = Field(foreign_key="provider.id", max_length=64)
    mode: str = Field(max_length=16)  # manual | bulk | policy
    price: float | None = None
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    provider_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    control_id: str = Field(max_length=32)
    delivery: str = Field(default="pending", max_length=16)  # pending|acked|failed|manual
    attempts: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = None
    reported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class OutsourcingPolicy(SQLModel, table=True):
    """A network's choice: recommend predicted breaches, or send them within a daily budget."""

    network: str = Field(foreign_key="network.code", primary_key=True, max_length=32)
    mode: str = Field(default="recommend", max_length=16)  # off | recommend | auto
    daily_budget: float = 0.0
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RosterEntry(SQLModel, table=True):
    """A planned reporting session from the e-roster or the API."""

    __table_args__ = (
        UniqueConstraint("reporter_id", "start", name="uq_roster_reporter_start"),
        Index("ix_roster_network_time", "network", "start", "end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reporter_id: str = Field(foreign_key="reporter.id", max_length=64)
    network: str = Field(max_length=32)
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(max_length=16)  # core | insourced
    rate: float | None = None
    rate_basis: str = Field(default="session", max_length=16)  # session | work_unit
    reference: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class BreachPrediction(SQLModel, table=True):
    """The latest prediction for a waiting study (recomputed by the sweeper)."""

    study_id: int = Field(foreign_key="study.id", primary_key=True)
    network: str = Field(max_length=32, index=True)
    site: str = Field(max_length=32)
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    work_ahead: float
    eligible_reporters: int
    predicted_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    predicted_finish: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    predicted_breach: bool


class Review(SQLModel, table=True):
    """A second read of a sampled report by a radiologist other than its author."""

    __table_args__ = (
        Index("ix_review_status", "network", "status"),
        Index("ix_review_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", unique=True)
    network: str = Field(max_length=32)
    site: str = Field(max_length=32)
    author_id: str = Field(max_length=64)
    author_group: str = Field(max_length=16)
    sampled_by: str = Field(max_length=32)  # the rule: group share or all-reports share
    status: str = Field(default="waiting", max_length=16)  # waiting | claimed | done
    reviewer_id: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    outcome: str | None = Field(default=None, max_length=16)  # agree | minor | major
    comment: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class PredictionPass(SQLModel, table=True):
    """The sweeper's last prediction and policy pass over a network: when it ran, what it
    found and did, and how long it took.

    Prediction rows are rewritten only when they change materially, so their own
    ``computed_at`` says when that row last moved; this row says when the figures were last
    checked (``GET /api/v1/predictions/breaches`` answers with it)."""

    network: str = Field(foreign_key="network.code", primary_key=True, max_length=32)
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    studies: int
    breaching: int
    rows_written: int
    rows_removed: int
    recommended: int
    sent: int
    seconds: float
