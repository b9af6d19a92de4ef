"""Token endpoints: admins mint and revoke tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator

from worklist.auth.tokens import mint_token, revoke_token
from worklist.deps import AdminDep, ServicesDep, SessionDep
from worklist.models import Reporter

router = APIRouter(prefix="/api/v1/tokens", tags=["auth"])


class TokenCreate(BaseModel):
    role: Literal["admin", "feed", "ops", "lead", "reporter"]
    reporter_id: str | None = None
    label: str | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _reporter_binding(self) -> TokenCreate:
        if self.role == "reporter" and not self.reporter_id:
            raise ValueError("a reporter token needs reporter_id")
        if self.role != "reporter" and self.reporter_id:
            raise ValueError("only a reporter token is bound to a reporter")
        return self


class TokenCreated(BaseModel):
    token: str
    id: int
    role: str
    reporter_id: str | None
    expires_at: datetime | None


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, db: SessionDep, _: AdminDep) -> TokenCreated:
    """Mint a token; its plain text is shown only in this answer."""
    if body.reporter_id and db.get(Reporter, body.reporter_id) is None:
        raise HTTPException(422, "unknown reporter_id")
    plain, row = mint_token(db, body.role, body.reporter_id, body.label, body.expires_in_days)
    assert row.id is not None
    return TokenCreated(
        token=plain,
        id=row.id,
        role=row.role,
        reporter_id=row.reporter_id,
        expires_at=row.expires_at,
    )


@router.delete("/{token_id}")
def delete_token(
    token_id: int, db: SessionDep, services: ServicesDep, _: AdminDep
) -> dict[str, bool]:
    """Revoke a token (at once here; within seconds on other replicas)."""
    if not revoke_token(db, token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such token")
    services.tokens.forget_token_id(token_id)
    return {"revoked": True}
