"""Personal tokens of the JSON API: each one acts as its user, with the user's role.

A token is 32 random bytes, shown once when it is made; only its SHA-256 is
stored. A slow password hash (argon2) is not needed here: the token is not
chosen by a person, so nobody can guess it from a dictionary, and a fast hash
lets every API request be checked in one indexed lookup.

A user has at most one live token: making a new one revokes the previous one.
A disabled account's token stops working at once (the user is checked on
every request), and comes back if the account is re-enabled, unless revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from callbook.accounts.users import User
from callbook.db import Base
from callbook.history.audit import record_audit

TOKEN_PREFIX = "ivr_"
SHOWN_LENGTH = 12
"""Characters of the token kept in clear (its prefix), so a person can tell tokens apart."""


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    shown: Mapped[str] = mapped_column(String(SHOWN_LENGTH))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.shown}… user {self.user_id}>"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, *, actor: str, now: datetime) -> str:
    """A new token for `user` (returned in clear, never stored); the previous one is revoked."""
    revoke_tokens(session, user, actor=actor, now=now, audit=False)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=hash_token(token),
        shown=token[:SHOWN_LENGTH],
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_audit(
        session, actor, "api-token", user.username, "create", None, {"token": row.shown}, at=now
    )
    return token


def revoke_tokens(
    session: Session, user: User, *, actor: str, now: datetime, audit: bool = True
) -> int:
    """Revoke every live token of `user`; how many there were."""
    live = list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    if live:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_([t.id for t in live]))
            .values(revoked_at=now)
            .execution_options(synchronize_session="fetch")
        )
        session.flush()
        if audit:
            shown = [t.shown for t in live]
            record_audit(
                session, actor, "api-token", user.username, "revoke", {"tokens": shown}, None,
                at=now,
            )  # fmt: skip
    return len(live)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user whose live token this is, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    )
