"""Provider price lists versioned by date, so a price change never rewrites past costs.

Items are per modality (``modality:CT``) or per exam code (``exam:CTCAP``, which wins over
the modality). Each item is versioned on its own: the price at time T is the version with
the latest ``effective_from`` not after T. ``PUT /providers/{id}`` keeps its meaning: the
provider row's ``price`` is the version effective from the row's ``updated_at`` -- it is
copied into the versions the first time prices are read or written after such a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from worklist.models import Provider, ProviderPrice
from worklist.services import utcnow


def modality_item(modality: str) -> str:
    return f"modality:{modality.upper()}"


def exam_item(code: str) -> str:
    return f"exam:{code.upper()}"


@dataclass(frozen=True)
class PriceList:
    """A provider's effective prices at one moment."""

    modalities: dict[str, float]
    exam_codes: dict[str, float]

    def price_for(self, modality: str, exam_code: str | None) -> float | None:
        if exam_code and exam_code.upper() in self.exam_codes:
            return self.exam_codes[exam_code.upper()]
        return self.modalities.get(modality.upper())


def _versions(db: Session, provider_id: str) -> list[ProviderPrice]:
    return list(
        db.exec(
            select(ProviderPrice)
            .where(ProviderPrice.provider_id == provider_id)
            .order_by(col(ProviderPrice.effective_from), col(ProviderPrice.id))
        ).all()
    )


def _effective(versions: list[ProviderPrice], at: datetime) -> PriceList:
    current: dict[str, float] = {}
    for v in versions:  # ordered by effective_from: later versions overwrite earlier ones
        if v.effective_from <= at:
            current[v.item] = v.price
    return PriceList(
        modalities={k.split(":", 1)[1]: p for k, p in current.items() if k.startswith("modality:")},
        exam_codes={k.split(":", 1)[1]: p for k, p in current.items() if k.startswith("exam:")},
    )


def sync_provider_row(db: Session, provider: Provider) -> bool:
    """Record the provider row's ``price`` as a version from its ``updated_at`` if it differs
    from what the versions say then; True when something was added (caller commits)."""
    at = provider.updated_at
    effective = _effective(_versions(db, provider.id), at).modalities
    changed = False
    for modality, price in provider.price.items():
        if effective.get(modality.upper()) != float(price):
            db.add(_version(provider.id, modality_item(modality), float(price), at))
            changed = True
    if changed:
        db.flush()
    return changed


def _version(provider_id: str, item: str, price: float, at: datetime) -> ProviderPrice:
    return ProviderPrice(
        provider_id=provider_id, item=item, price=price, effective_from=at, created_at=utcnow()
    )


def prices_at(db: Session, provider: Provider, at: datetime) -> PriceList:
    """The provider's price list effective at ``at`` (after syncing the provider row)."""
    sync_provider_row(db, provider)
    return _effective(_versions(db, provider.id), at)


def set_prices(
    db: Session,
    provider: Provider,
    effective_from: datetime,
    modalities: Mapping[str, float],
    exam_codes: Mapping[str, float],
) -> None:
    """Add (or correct) one dated version of some items; the provider row then shows the
    modality prices effective now. The caller commits."""
    sync_provider_row(db, provider)
    items = {modality_item(m): p for m, p in modalities.items()}
    items |= {exam_item(c): p for c, p in exam_codes.items()}
    existing = {
        v.item: v
        for v in db.exec(
            select(ProviderPrice).where(
                ProviderPrice.provider_id == provider.id,
                ProviderPrice.effective_from == effective_from,
            )
        ).all()
    }
    for item, price in items.items():
        version = existing.get(item) or _version(provider.id, item, price, effective_from)
        version.price = float(price)
        db.add(version)
    db.flush()
    now = utcnow()
    provider.price = dict(_effective(_versions(db, provider.id), now).modalities)
    provider.updated_at = now
    db.add(provider)


def history(db: Session, provider: Provider) -> list[dict[str, object]]:
    """Every version, oldest first (what ``GET /providers/{id}/prices`` lists)."""
    sync_provider_row(db, provider)
    return [
        {"item": v.item, "price": v.price, "effective_from": v.effective_from}
        for v in _versions(db, provider.id)
    ]
