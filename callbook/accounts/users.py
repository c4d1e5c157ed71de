"""People who use the admin interface: accounts, roles, passwords, login throttling.

Passwords are stored as argon2id hashes (argon2-cffi's defaults); a hash made
with older parameters is replaced at the next successful login. Weak ones are
refused (`callbook.accounts.passwords`).

Each account has a session version, kept by each of its sessions when it
starts: logging out, a new password, disabling the account or changing its
role moves it on (`end_sessions`), and every session started before ends,
wherever its cookie is.

Failed logins are rows, not process memory, so that every web worker counts
the same attempts. A username is locked for LOCKOUT after MAX_FAILURES
failures from one address within LOCKOUT, or after MAX_FAILURES_ANY_ADDRESS
from anywhere (which slows a guesser spreading over many addresses, at the
price of letting them lock a known username for a while). While locked, even
the right password is refused. An address with MAX_FAILURES_FROM_ADDRESS
failures, whatever the usernames, is refused as well (one guesser trying
many usernames).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CheckConstraint, Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from callbook.accounts.passwords import password_problem
from callbook.db import Base
from callbook.history.audit import record_audit
from callbook.i18n import LOCALES

ROLES = ("admin", "technician", "viewer", "referent")
STRUCTURE_LENGTH = 64
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

MAX_FAILURES = 5
MAX_FAILURES_ANY_ADDRESS = 20
MAX_FAILURES_FROM_ADDRESS = 50
LOCKOUT = timedelta(minutes=15)

_hasher = PasswordHasher()
# Verified when the username is unknown, so that the answer takes as long
# as for a known one and does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'technician', 'viewer', 'referent')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool]
    technician: Mapped[str | None] = mapped_column(String(64))
    """Id of the configured technician this account acts as (own on-call overrides)."""
    structure: Mapped[str | None] = mapped_column(String(STRUCTURE_LENGTH))
    """A referent's structure (a key of the configuration): the only tickets it sees."""
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Sessions started under another version have ended (see `end_sessions`)."""
    locale: Mapped[str] = mapped_column(String(5), default="fr", server_default="fr")
    """The language of the admin and of the API's messages for this account (LOCALES)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}{'' if self.active else ' disabled'}>"

    def public(self) -> dict[str, Any]:
        """What the audit log keeps of an account: never the password hash."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "active": self.active,
            "technician": self.technician,
            "structure": self.structure,
            "locale": self.locale,
        }


class LoginFailure(Base):
    """One failed login attempt, kept for LOCKOUT."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class UserError(ValueError):
    """A refused user change; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class LoginLocked(Exception):
    """Too many failed attempts: logins for this username wait until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


def hash_password(password: str, account: Sequence[str] = ()) -> str:
    """The hash to store; UserError("password") with the French reason for a weak password.

    `account` is the username and display name, which the password may not repeat.
    """
    problem = password_problem(password, account)
    if problem is not None:
        raise UserError("password", problem)
    return _hasher.hash(password)


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: str,
    display_name: str = "",
    structure: str | None = None,
    actor: str,
    now: datetime,
) -> User:
    """A new active account; a referent needs its `structure` (a configuration key)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError("username", "2 to 64 of a-z, 0-9, '.', '_', '-', starting alphanumeric")
    _check_role(role)
    if get_user(session, username) is not None:
        raise UserError("username", f"user '{username}' already exists")
    display_name = display_name.strip() or username
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password, (username, display_name)),
        active=True,
        structure=_structure_for(role, structure),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    record_audit(session, actor, "user", username, "create", None, user.public(), at=now)
    return user


def set_password(session: Session, user: User, password: str, *, actor: str, now: datetime) -> None:
    """New password; every open session of the user ends."""
    user.password_hash = hash_password(password, (user.username, user.display_name))
    end_sessions(user)
    user.updated_at = now
    session.flush()
    record_audit(session, actor, "user", user.username, "set-password", None, None, at=now)


def update_user(
    session: Session,
    user: User,
    *,
    actor: str,
    now: datetime,
    role: str | None = None,
    display_name: str | None = None,
    active: bool | None = None,
    technician: str | None = None,
    structure: str | None = None,
    locale: str | None = None,
) -> None:
    """Change what is given; `technician=""` unlinks the account from its technician.

    A referent keeps its structure unless another is given; any other role has none.
    """
    before = user.public()
    if locale is not None:
        if locale not in dict(LOCALES):
            known = ", ".join(dict(LOCALES))
            raise UserError("locale", f"langue inconnue « {locale} » (connues : {known})")
        user.locale = locale
    if role is not None:
        _check_role(role)
        user.role = role
    user.structure = _structure_for(user.role, structure or user.structure)
    if display_name is not None:
        user.display_name = display_name.strip() or user.username
    if active is not None:
        user.active = active
    if technician is not None:
        user.technician = technician.strip() or None
    if user.public() == before:
        return
    scope_changed = user.role != before["role"] or user.structure != before["structure"]
    if scope_changed or (before["active"] and not user.active):
        end_sessions(user)
    user.updated_at = now
    session.flush()
    action = "disable" if active is False and before["active"] else "update"
    record_audit(session, actor, "user", user.username, action, before, user.public(), at=now)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError("role", f"unknown role '{role}' (known: {', '.join(ROLES)})")


def _structure_for(role: str, structure: str | None) -> str | None:
    """The structure stored for an account of `role`: a referent's own, nobody else's."""
    if role != "referent":
        return None
    key = (structure or "").strip()
    if not key:
        raise UserError("structure", "un référent doit être rattaché à une structure")
    if len(key) > STRUCTURE_LENGTH:
        raise UserError("structure", f"clé de structure trop longue ({STRUCTURE_LENGTH} au plus)")
    return key


def end_sessions(user: User) -> None:
    """Every open session of `user` ends (the caller commits); the next login starts anew."""
    user.session_version += 1


def authenticate(
    session: Session, username: str, password: str, *, address: str, now: datetime
) -> User | None:
    """The active user with this password, or None (the failure is counted).

    Raises LoginLocked while the username is locked, whatever the password.
    """
    username = username.strip().lower()[:64]
    address = address[:64]
    _check_lock(session, username, address, now)
    user = get_user(session, username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.active:
        session.add(LoginFailure(username=username, address=address, at=now))
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOCKOUT))
        session.flush()
        return None
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address
        )
    )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.flush()
    return user


def _check_lock(session: Session, username: str, address: str, now: datetime) -> None:
    since = now - LOCKOUT
    # max() keeps the column's type, so the answer is an aware UTC datetime.
    recent = select(func.count(), func.max(LoginFailure.at)).where(
        LoginFailure.username == username, LoginFailure.at >= since
    )
    count_any, last_any = session.execute(recent).one()
    count_here, last_here = session.execute(recent.where(LoginFailure.address == address)).one()
    if count_here >= MAX_FAILURES:
        raise LoginLocked(last_here + LOCKOUT)
    if count_any >= MAX_FAILURES_ANY_ADDRESS:
        raise LoginLocked(last_any + LOCKOUT)
    count_address, last_address = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.address == address, LoginFailure.at >= since
        )
    ).one()
    if count_address >= MAX_FAILURES_FROM_ADDRESS:
        raise LoginLocked(last_address + LOCKOUT)
