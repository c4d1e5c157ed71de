"""The active configuration, cached in memory by each worker process.

Calls read the configuration on every webhook; the database is asked at most
once a second whether another revision became active (one primary-key
lookup), and the document is loaded and validated only when it did.

Each loaded revision is also kept in `<instance>/last-config.json`: a worker
that starts while the database is unreachable answers from it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from callbook.db import database
from callbook.history.models import ConfigRevision
from callbook.history.revisions import (
    active_revision,
    active_revision_id,
    get_revision,
    has_revisions,
)
from callbook.reports.history import Names
from ivr.config import (
    ConfigDocument,
    ConfigInvalid,
    Problem,
    demo_yaml_text,
    load_yaml_text,
    to_data,
    validate_document,
)
from ivr.config.names import export_names
from ivr.config.revisions import revision_document, save_revision

log = logging.getLogger(__name__)

EXTENSION = "ivr.active_config"
SNAPSHOT = "last-config.json"


class NoActiveConfig(LookupError):
    """No configuration can be served: none is active, or the first load failed."""


class ActiveConfig:
    """(revision number, document) of the active revision, refreshed at most every `interval`.

    If a newly activated revision cannot be loaded (invalid document, corrupt
    row, database error), the previous one keeps being served, a warning is
    logged once per revision and `status()` names the refused revision.
    With `snapshot`, every loaded revision is saved there, and read back when
    the database cannot be reached before anything was loaded. `monotonic` is
    injectable so tests can move time forward.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        snapshot: Path | None = None,
    ) -> None:
        self._sessions = sessions
        self._snapshot = snapshot
        self._interval = interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._current: tuple[int, ConfigDocument] | None = None
        self._checked_at = 0.0
        self._refused: int | None = None
        self._database_failing = False

    def get(self) -> tuple[int, ConfigDocument]:
        """The active (revision number, document); raises NoActiveConfig if there is none."""
        if self._fresh():
            return self._current  # type: ignore[return-value]
        with self._lock:
            if not self._fresh():  # another thread may have refreshed meanwhile
                self._refresh()
            return self._current  # type: ignore[return-value]

    @property
    def last_known(self) -> tuple[int, ConfigDocument] | None:
        """What `get` last answered, without asking the database; None before any load."""
        return self._current

    def status(self) -> dict[str, Any]:
        """What this worker serves: the revision, and a refused one (its problems are logged)."""
        refused = None if self._refused is None else {"revision": self._refused}
        return {
            "revision": None if self._current is None else self._current[0],
            "refused": refused,
            "database_failing": self._database_failing,
        }

    def _fresh(self) -> bool:
        return self._current is not None and self._monotonic() - self._checked_at < self._interval

    def _refresh(self) -> None:
        """Check the active id and load it if it changed; sets `_current` or raises."""
        self._checked_at = self._monotonic()
        try:
            with self._sessions() as session:
                number = active_revision_id(session)
                if number is None and self._current is None:
                    raise NoActiveConfig(
                        "no configuration revision is active: run `ivr config import FILE.yaml`"
                    )
                seen = () if self._current is None else (self._current[0], self._refused)
                if number is None or number in seen:  # unchanged, or already refused
                    self._database_failing = False
                    return
                doc = self._load(session, number)
        except SQLAlchemyError as exc:
            if self._current is None and self.from_snapshot() is None:
                raise NoActiveConfig(f"cannot read the active configuration: {exc}") from exc
            if not self._database_failing:  # once per outage, not once a second
                log.warning("keeping configuration revision %s: %s", self._current[0], exc)
            self._database_failing = True
            return
        self._database_failing = False
        if doc is not None:
            self._current, self._refused = (number, doc), None
            log.info("configuration revision %s loaded", number)
            self._write_snapshot(number, doc)

    def _load(self, session: Session, number: int) -> ConfigDocument | None:
        """The document of revision `number`; None (and a warning) if it is refused."""
        try:
            rev = get_revision(session, number)
            if rev is None:  # the foreign key forbids it; say so rather than crash
                raise ConfigInvalid([Problem("", "the revision row is missing")])
            return revision_document(rev)
        except (ValueError, TypeError) as exc:  # ConfigInvalid, or a row that is not JSON
            if self._current is None:
                raise NoActiveConfig(
                    f"active configuration revision {number} is invalid:\n{exc}"
                ) from exc
            self._refused = number
            log.warning(
                "keeping configuration revision %s: revision %s is invalid:\n%s",
                self._current[0],
                number,
                exc,
            )
            return None

    def _write_snapshot(self, number: int, doc: ConfigDocument) -> None:
        if self._snapshot is None:
            return
        temporary = self._snapshot.with_name(f".{self._snapshot.name}.{os.getpid()}.tmp")
        try:
            data = json.dumps({"revision": number, "document": to_data(doc)}, ensure_ascii=False)
            temporary.write_text(data, encoding="utf-8")
            os.replace(temporary, self._snapshot)
        except OSError as exc:
            log.warning("configuration snapshot %s not written: %s", self._snapshot, exc)

    def from_snapshot(self) -> tuple[int, ConfigDocument] | None:
        """Before any load: serve the snapshot (the database is asked again after `interval`)."""
        with self._snapshot_lock:
            if self._current is None:
                self._current = self._read_snapshot()
            return self._current

    def _read_snapshot(self) -> tuple[int, ConfigDocument] | None:
        if self._snapshot is None or not self._snapshot.exists():
            return None
        try:
            saved = json.loads(self._snapshot.read_text(encoding="utf-8"))
            known = int(saved["revision"]), validate_document(saved["document"])
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("configuration snapshot %s unusable: %s", self._snapshot, exc)
            return None
        log.warning(
            "database unreachable: serving configuration revision %s from %s",
            known[0],
            self._snapshot,
        )
        return known


def init_app(app: Flask) -> ActiveConfig:
    """Attach one ActiveConfig to `app`, reading through its database sessions."""
    cache = ActiveConfig(database(app).sessions, snapshot=Path(app.instance_path) / SNAPSHOT)
    app.extensions[EXTENSION] = cache
    return cache


def active_config(app: Flask | None = None) -> ActiveConfig:
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


def current_config() -> tuple[int, ConfigDocument]:
    """(revision number, document) in force, inside an app or request context."""
    return active_config().get()


def last_known() -> tuple[int, ConfigDocument] | None:
    """(revision number, document) this worker last loaded, without asking the database.

    A worker that loaded nothing yet falls back on the snapshot of the
    instance folder. Never raises: None outside an app context or when
    there is nothing to serve.
    """
    try:
        cache = active_config()
    except (RuntimeError, KeyError):  # no app context / no ActiveConfig on the app
        return None
    return cache.last_known or cache.from_snapshot()


def last_known_config() -> ConfigDocument | None:
    """The document of `last_known()`, for answers that must not depend on the database."""
    known = last_known()
    return None if known is None else known[1]


def install_demo_if_empty(session: Session) -> ConfigRevision | None:
    """With no revision at all, store and activate the demo configuration."""
    if has_revisions(session):
        return None
    doc = load_yaml_text(demo_yaml_text())
    return save_revision(session, doc, author="system", comment="demo configuration")


def structure_names(session: Session) -> dict[str, str]:
    """{key: name} of the active configuration's structures ({} when none is active).

    What a referent's account may be attached to (admin page, API, `ivr users`).
    Read through the caller's `session`, not the cached `current_config()`: on
    SQLite a second connection would wait for the request's own transaction.
    """
    rev = active_revision(session)
    if rev is None:
        return {}
    try:
        doc = revision_document(rev)
    except ConfigInvalid:
        return {}
    return {s.id: s.name for s in doc.structures}


def active_names() -> Names:
    """The names the exports use, from the active configuration (none without one)."""
    try:
        _, doc = current_config()
    except NoActiveConfig:
        return Names()
    return export_names(doc)
