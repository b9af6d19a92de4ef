"""Rates, provider price lists and order endpoints.

What a period cost and the headroom are dashboards: ``GET /api/v1/dashboards/sourcing`` and
``GET /api/v1/dashboards/headroom`` (``worklist.sourcing.costing`` and ``.headroom``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from worklist.deps import AdminDep, ReaderDep, SessionDep
from worklist.models import Provider, ProviderEndpoint
from worklist.services import utcnow
from worklist.sourcing import prices as price_lists
from worklist.sourcing.common import aware, network_of
from worklist.sourcing.rates import list_rates, set_rate

router = APIRouter(prefix="/api/v1", tags=["sourcing"])
RateKind = Literal["core", "insourced", "insourcing"]


class RateIn(BaseModel):
    network: str | None = None
    group: Literal["radiologist", "registrar", "radiographer"] | None = None
    basis: Literal["work_unit", "session"]
    amount: float = Field(ge=0)
    effective_from: datetime | None = None


class PricesIn(BaseModel):
    effective_from: datetime | None = None
    modalities: dict[str, float] = {}
    exam_codes: dict[str, float] = {}


class EndpointIn(BaseModel):
    host: str = Field(min_length=1)
    port: int = Field(gt=0, lt=65536)
    receiving_application: str = "PROVIDER"
    receiving_facility: str = ""
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)


def _kind(kind: str) -> str:
    return "insourced" if kind == "insourcing" else kind


def _rate_out(r: Any) -> dict[str, Any]:
    return {
        "network": r.network,
        "kind": r.kind,
        "group": r.group,
        "basis": r.basis,
        "amount": r.amount,
        "effective_from": r.effective_from,
    }


@router.put("/rates/{kind}")
def put_rate(kind: RateKind, body: RateIn, db: SessionDep, _: AdminDep) -> dict[str, Any]:
    """Add a dated network rate (insourced, or core when core time is charged)."""
    network = network_of(db, body.network)
    at = aware(body.effective_from, utcnow())
    rate = set_rate(db, network, _kind(kind), body.group, body.basis, body.amount, at)
    db.commit()
    return _rate_out(rate)


@router.get("/rates/{kind}")
def get_rates(
    kind: RateKind, db: SessionDep, _: ReaderDep, network: str | None = None
) -> list[dict[str, Any]]:
    """Every version of the network's rates of this kind, oldest first."""
    return [_rate_out(r) for r in list_rates(db, network_of(db, network), _kind(kind))]


def _provider(db: SessionDep, provider_id: str) -> Provider:
    provider = db.get(Provider, provider_id)
    if provider is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such provider")
    return provider


def _price_answer(db: SessionDep, provider: Provider, at: datetime) -> dict[str, Any]:
    current = price_lists.prices_at(db, provider, at)
    return {
        "provider": provider.id,
        "at": at,
        "modalities": current.modalities,
        "exam_codes": current.exam_codes,
        "versions": price_lists.history(db, provider),
    }


@router.put("/providers/{provider_id}/prices")
def put_prices(provider_id: str, body: PricesIn, db: SessionDep, _: AdminDep) -> dict[str, Any]:
    """Add a dated version of some price-list items (per modality and per exam code)."""
    provider = _provider(db, provider_id)
    now = utcnow()
    at = aware(body.effective_from, now)
    price_lists.set_prices(db, provider, at, body.modalities, body.exam_codes)
    db.commit()
    return _price_answer(db, provider, now)


@router.get("/providers/{provider_id}/prices")
def get_prices(
    provider_id: str, db: SessionDep, _: ReaderDep, at: datetime | None = None
) -> dict[str, Any]:
    """The price list effective at ``at`` (default now) and every version."""
    provider = _provider(db, provider_id)
    answer = _price_answer(db, provider, aware(at, utcnow()))
    db.commit()  # a provider row change seen for the first time is now versioned
    return answer


@router.put("/providers/{provider_id}/endpoint")
def put_endpoint(provider_id: str, body: EndpointIn, db: SessionDep, _: AdminDep) -> dict[str, Any]:
    """Where the provider takes orders (HL7 ORM^O01 over MLLP)."""
    _provider(db, provider_id)
    endpoint = db.get(ProviderEndpoint, provider_id) or ProviderEndpoint(
        provider_id=provider_id, host=body.host, port=body.port
    )
    for key, value in body.model_dump().items():
        setattr(endpoint, key, value)
    db.add(endpoint)
    db.commit()
    return {"provider": provider_id, "protocol": "hl7-mllp", **body.model_dump()}
