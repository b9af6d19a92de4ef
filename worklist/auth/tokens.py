"""Mint, hash, look up and revoke bearer tokens. Only hashes touch the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from worklist.models import ApiToken

ROLES = frozenset({"admin", "feed", "ops", "lead", "reporter"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, and for reporter tokens the reporter they are bound to."""

    role: str
    reporter_id: str | None = None
    token_id: int | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(
    db: Session,
    role: str,
    reporter_id: str | None = None,
    label: str | None = None,
    days: int | None = 365,
) -> tuple[str, ApiToken]:
    """Create a token; the plain text is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if (role == "reporter") != (reporter_id is not None):
        raise ValueError("a reporter token needs reporter_id, and only a reporter token has one")
    plain = "wl_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = ApiToken(
        token_hash=hash_token(plain),
        role=role,
        reporter_id=reporter_id,
        label=label,
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    db.add(row)
    db.commit()
    db.refresh(row)
    return plain, row


def is_admin_token(token: str, admin_token: str | None) -> bool:
    return bool(admin_token) and hmac.compare_digest(token.encode(), str(admin_token).encode())


def lookup(db: Session, token: str) -> tuple[Principal, datetime | None] | None:
    """The principal for a stored token and its expiry, or None when unknown/expired/revoked."""
    key = hash_token(token)
    return lookup_hashes(db, [key]).get(key)


LOOKUP_CHUNK = 500  # hashes per query: well inside every database's bound-parameter limit


def lookup_hashes(
    db: Session, token_hashes: Iterable[str]
) -> dict[str, tuple[Principal, datetime | None]]:
    """The still-valid tokens among these hashes, each with its principal and expiry."""
    hashes = list(token_hashes)
    now = datetime.now(UTC)
    found: dict[str, tuple[Principal, datetime | None]] = {}
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        rows = db.exec(
            select(ApiToken).where(
                col(ApiToken.token_hash).in_(hashes[start : start + LOOKUP_CHUNK]),
                col(ApiToken.revoked_at).is_(None),
            )
        )
        for row in rows:
            if row.expires_at is None or row.expires_at > now:
                principal = Principal(role=row.role, reporter_id=row.reporter_id, token_id=row.id)
                found[row.token_hash] = (principal, row.expires_at)
    return found


def authenticate(db: Session, token: str, admin_token: str | None) -> Principal | None:
    """The principal for a token, or None when unknown, expired or revoked."""
    if is_admin_token(token, admin_token):
        return Principal(role="admin")
    found = lookup(db, token)
    return found[0] if found else None


def revoke_token(db: Session, token_id: int) -> bool:
    row = db.get(ApiToken, token_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        db.add(row)
        db.commit()
    return True
