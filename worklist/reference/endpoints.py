"""Reference data endpoints: sites, reporters, outsourcing providers, exam catalogue."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlmodel import select

from worklist.deps import AdminDep, ReaderDep, ServicesDep, SessionDep
from worklist.models import ExamType, Provider, Reporter, Site, TatTarget
from worklist.reference.schemas import (
    ProviderIn,
    ProviderPublic,
    ReporterIn,
    ReporterPublic,
    SiteIn,
    SitePublic,
)
from worklist.reference.service import (
    ReferenceError,
    upsert_provider,
    upsert_reporter,
    upsert_site,
)

router = APIRouter(prefix="/api/v1", tags=["reference"])


def _status(response: Response, created: bool) -> None:
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK


def _site_public(s: Site) -> SitePublic:
    return SitePublic(code=s.code, name=s.name, network=s.network)


def _reporter_public(r: Reporter) -> ReporterPublic:
    return ReporterPublic.model_validate(
        {**r.model_dump(exclude={"updated_at"}), "sites": r.sites, "scope": r.scope}
    )


def _provider_public(p: Provider) -> ProviderPublic:
    return ProviderPublic.model_validate(p.model_dump(exclude={"updated_at"}))


@router.put("/sites/{code}", responses={201: {"description": "created"}})
def put_site(
    code: str, body: SiteIn, response: Response, db: SessionDep, _: AdminDep
) -> SitePublic:
    """Create or update a site."""
    try:
        site, created = upsert_site(db, code.strip().upper(), body)
    except ReferenceError as e:
        raise HTTPException(422, str(e)) from e
    _status(response, created)
    return _site_public(site)


@router.get("/sites")
def list_sites(db: SessionDep, _: ReaderDep) -> list[SitePublic]:
    """All sites."""
    return [_site_public(s) for s in db.exec(select(Site).order_by(Site.code)).all()]


@router.put("/reporters/{reporter_id}", responses={201: {"description": "created"}})
def put_reporter(
    reporter_id: str,
    body: ReporterIn,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    _: AdminDep,
) -> ReporterPublic:
    """Create or update a reporter; scope and credential changes apply on their next pull."""
    try:
        reporter, created = upsert_reporter(db, services, reporter_id, body)
    except ReferenceError as e:
        raise HTTPException(422, str(e)) from e
    _status(response, created)
    return _reporter_public(reporter)


@router.get("/reporters")
def list_reporters(db: SessionDep, _: ReaderDep) -> list[ReporterPublic]:
    """All reporters."""
    return [_reporter_public(r) for r in db.exec(select(Reporter).order_by(Reporter.id)).all()]


@router.get("/reporters/{reporter_id}")
def get_reporter(reporter_id: str, db: SessionDep, _: ReaderDep) -> ReporterPublic:
    """One reporter."""
    reporter = db.get(Reporter, reporter_id)
    if reporter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such reporter")
    return _reporter_public(reporter)


@router.put("/providers/{provider_id}", responses={201: {"description": "created"}})
def put_provider(
    provider_id: str, body: ProviderIn, response: Response, db: SessionDep, _: AdminDep
) -> ProviderPublic:
    """Create or update an outsourcing provider."""
    provider, created = upsert_provider(db, provider_id, body)
    _status(response, created)
    return _provider_public(provider)


@router.get("/providers")
def list_providers(db: SessionDep, _: ReaderDep) -> list[ProviderPublic]:
    """All outsourcing providers."""
    return [_provider_public(p) for p in db.exec(select(Provider).order_by(Provider.id)).all()]


@router.get("/exams")
def list_exams(db: SessionDep, _: ReaderDep) -> list[ExamType]:
    """The exam catalogue."""
    return list(db.exec(select(ExamType).order_by(ExamType.code)).all())


@router.get("/tat-targets")
def list_tat_targets(db: SessionDep, _: ReaderDep) -> list[TatTarget]:
    """Turnaround targets by urgency and patient source ("*" = any source)."""
    return list(db.exec(select(TatTarget)).all())
