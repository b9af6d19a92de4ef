"""The long-lived parts of a running service, built by the app factory or the CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Session, select

from allocator.connection import EmbeddedRedis, connect
from allocator.engine import Allocator
from allocator.ranking import RankingWeights
from worklist import db as database
from worklist.auth.cache import TokenCache
from worklist.catalogue import Catalogue, ExamEntry, default_catalogue
from worklist.models import ExamType, Network, TatTarget
from worklist.policy import DEFAULT_TAT_MINUTES, TatPolicy
from worklist.reporting.open_assignments import OpenAssignments
from worklist.settings import Settings

log = logging.getLogger(__name__)


def weights_from(settings: Settings) -> RankingWeights:
    minute = 60_000
    return RankingWeights(
        subspecialty_bonus_ms=settings.subspecialty_bonus_minutes * minute,
        home_site_bonus_ms=settings.home_site_bonus_minutes * minute,
        radiographer_deferral_ms=settings.radiographer_deferral_minutes * minute,
        deferral_min_slack_ms=settings.deferral_min_slack_minutes * minute,
        widen_to_radiologists_at=settings.widen_to_radiologists_at,
        widen_to_outsourcing_at=settings.widen_to_outsourcing_at,
        patient_hold_ms=settings.patient_hold_seconds * 1000,
        reading_ms_per_work_unit=round(3_600_000 / settings.reporter_work_units_per_hour),
    )


@dataclass
class Services:
    """Settings, database engine, Redis, allocators per network, catalogue and TAT policy."""

    settings: Settings
    engine: Engine
    # The event loop's own connection, for the hot reporter endpoints (db.make_loop_engine).
    loop_engine: Engine
    redis: redis.Redis
    patient_secret: bytes
    weights: RankingWeights
    catalogue: Catalogue = field(default_factory=lambda: Catalogue([]))
    policy: TatPolicy = field(default_factory=lambda: TatPolicy(DEFAULT_TAT_MINUTES))
    embedded_redis: EmbeddedRedis | None = None
    tokens: TokenCache = field(default_factory=TokenCache)
    # Each reporter's network, as the claim has read it: a reporter never moves to another
    # network (reference.service.upsert_reporter), so an entry never goes stale.
    reporter_networks: dict[str, str] = field(default_factory=dict)
    # PostgreSQL: the assignments this process's claims wrote, so that their usual completion
    # needs no lookup first (reporting.open_assignments).
    open_assignments: OpenAssignments = field(default_factory=OpenAssignments)
    # Called once per study sent out (site, modality, provider, price): the app's metrics.
    on_outsourced: Callable[[str, str, str, float | None], None] | None = None
    # PostgreSQL, when configured: the asyncio pool those endpoints use instead
    # (db.make_hot_engine). Only the app has them, so its lifespan makes and disposes of it,
    # on the loop it serves from.
    hot_engine: AsyncEngine | None = None
    _allocators: dict[str, Allocator] = field(default_factory=dict)

    def allocator(self, network: str) -> Allocator:
        """The allocator for one network (its keys share the network's hash tag)."""
        found = self._allocators.get(network)
        if found is None:
            found = Allocator(self.redis, network, self.weights)
            self._allocators[network] = found
        return found

    def networks(self) -> list[str]:
        with Session(self.engine) as db:
            return list(db.exec(select(Network.code)).all())

    def reload_reference(self) -> None:
        """Reload the exam catalogue and TAT table (after start-up or an admin change)."""
        with Session(self.engine) as db:
            exams = db.exec(select(ExamType)).all()
            targets = db.exec(select(TatTarget)).all()
        self.catalogue = Catalogue(
            [
                ExamEntry(
                    e.code,
                    e.description,
                    e.modality,
                    e.body_part,
                    e.subspecialty,
                    e.work_units,
                    e.radiographer_reportable,
                )
                for e in exams
            ]
        )
        table = dict(DEFAULT_TAT_MINUTES)
        table.update({(t.urgency, t.patient_source): t.target_minutes for t in targets})
        self.policy = TatPolicy(table)

    def close(self) -> None:
        self.redis.close()
        self.engine.dispose()
        self.loop_engine.dispose()
        if self.embedded_redis is not None:
            self.embedded_redis.close()


def seed_reference_defaults(engine: Engine) -> None:
    """Load the built-in exam catalogue and TAT targets into an empty database."""
    with Session(engine) as db:
        if db.exec(select(ExamType).limit(1)).first() is None:
            for e in default_catalogue():
                db.add(
                    ExamType(
                        code=e.code,
                        description=e.description,
                        modality=e.modality,
                        body_part=e.body_part,
                        subspecialty=e.subspecialty,
                        work_units=e.work_units,
                        radiographer_reportable=e.radiographer_reportable,
                    )
                )
        if db.exec(select(TatTarget).limit(1)).first() is None:
            for (urgency, source), minutes in DEFAULT_TAT_MINUTES.items():
                db.add(TatTarget(urgency=urgency, patient_source=source, target_minutes=minutes))
        db.commit()


def open_services(settings: Settings) -> Services:
    """Migrate, connect and load reference data; the caller closes what it opened."""
    url = settings.resolved_database_url()
    if settings.auto_migrate:
        database.upgrade(url)
    engine = database.make_engine(url)
    seed_reference_defaults(engine)
    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir)
        redis_url = embedded.url
        log.info("started embedded redis", extra={"socket": embedded.socket_path})
    services = Services(
        settings=settings,
        engine=engine,
        loop_engine=database.make_loop_engine(url),
        redis=connect(redis_url),
        patient_secret=settings.resolved_patient_hash_key(),
        weights=weights_from(settings),
        embedded_redis=embedded,
    )
    services.reload_reference()
    return services


def utcnow() -> datetime:
    return datetime.now(UTC)


def now_ms() -> int:
    return int(utcnow().timestamp() * 1000)
