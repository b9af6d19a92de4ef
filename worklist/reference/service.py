"""Upserts of reference data; reporter changes reach the allocator at once."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from worklist.models import ExamType, Network, Provider, Reporter, Site
from worklist.reference.profiles import profile_of
from worklist.reference.schemas import ProviderIn, ReporterIn, SiteIn
from worklist.services import Services, utcnow


class ReferenceError(ValueError):
    """Reference data that cannot be accepted; the message says why."""


def upsert_site(db: Session, code: str, body: SiteIn) -> tuple[Site, bool]:
    if db.get(Network, body.network) is None:
        db.add(Network(code=body.network, name=body.network))
    site = db.get(Site, code)
    created = site is None
    if site is None:
        site = Site(code=code, name=body.name, network=body.network)
    else:
        if site.network != body.network:
            raise ReferenceError("a site cannot move to another network")
        site.name = body.name
    db.add(site)
    db.commit()
    return site, created


def upsert_reporter(
    db: Session, services: Services, reporter_id: str, body: ReporterIn
) -> tuple[Reporter, bool]:
    codes = set(body.sites) | ({body.home_site} if body.home_site else set())
    sites = {s.code: s for s in db.exec(select(Site).where(col(Site.code).in_(codes))).all()}
    missing = sorted(codes - set(sites))
    if missing:
        raise ReferenceError(f"unknown site(s) {missing}")
    networks = {s.network for s in sites.values()}
    if len(networks) != 1:
        raise ReferenceError("a reporter's sites must all belong to one network")
    network = networks.pop()
    exam_codes = {c for entry in body.scope for c in entry.exam_codes}
    if exam_codes:
        known = set(db.exec(select(ExamType.code).where(col(ExamType.code).in_(exam_codes))).all())
        if exam_codes - known:
            raise ReferenceError(f"unknown exam code(s) {sorted(exam_codes - known)}")
    sites_list = sorted(set(body.sites) | ({body.home_site} if body.home_site else set()))
    reporter = db.get(Reporter, reporter_id)
    created = reporter is None
    if reporter is not None and reporter.network != network:
        raise ReferenceError("a reporter cannot move to another network")
    values: dict[str, Any] = {
        "name": body.name,
        "group": body.group,
        "home_site": body.home_site,
        "network": network,
        "sites": sites_list,
        "subspecialties": body.subspecialties,
        "scope": [e.model_dump() for e in body.scope],
        "active": body.active,
        "updated_at": utcnow(),
    }
    if reporter is None:
        reporter = Reporter(id=reporter_id, **values)
    else:
        for key, value in values.items():
            setattr(reporter, key, value)
    db.add(reporter)
    db.commit()
    allocator = services.allocator(network)
    if reporter.active:
        allocator.upsert_reporter(profile_of(reporter))
    else:
        allocator.remove_reporter(reporter_id)
    return reporter, created


def upsert_provider(db: Session, provider_id: str, body: ProviderIn) -> tuple[Provider, bool]:
    provider = db.get(Provider, provider_id)
    created = provider is None
    if provider is None:
        provider = Provider(id=provider_id, updated_at=utcnow(), **body.model_dump())
    else:
        for key, value in body.model_dump().items():
            setattr(provider, key, value)
        provider.updated_at = utcnow()
    db.add(provider)
    db.commit()
    return provider, created
