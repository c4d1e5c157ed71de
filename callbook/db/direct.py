"""The webhooks' statements run straight on the driver: SQLAlchemy compiles, the DBAPI runs.

Kept with the TwiML serialiser (`ivr.flows.state.twiml_text`): BENCHMARKS.md, "Layers"
(without both, the load benchmark missed its targets).

Every webhook runs a few statements, and SQLAlchemy's execution machinery
(cache lookup, parameter construction, result wrapping, events) costs more
per statement than SQLite takes to run it. A `Direct` statement is a Core
statement compiled once per dialect and per set of parameter names, with
the bind and result processors SQLAlchemy itself would apply (UTC
datetimes, JSON, booleans), and executed on the DBAPI cursor of a
SQLAlchemy `Connection`, inside whatever transaction that connection holds.

Driver errors come out as SQLAlchemy's (`DBAPIError.instance`, so callers
see the same `OperationalError` for a locked or stopped database); a lost
connection is invalidated and the engine's pool replaced, as SQLAlchemy
does for its own statements (`connection_invalidated` is set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None
A = TypeVar("A")

_GIVEN = object()
"""Marks, at compile time, the parameters a caller gives (the others are the statement's)."""


@dataclass(frozen=True, slots=True)
class _Default:
    """A column's Python-side default computed at each execution (`default=dict`)."""

    make: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement compiled for one dialect and one set of parameter names."""

    sql: str
    names: tuple[str, ...]
    """Bind names, in the statement's order for positional drivers."""
    processors: tuple[Processor, ...]
    fixed: dict[str, Any]
    """Binds the statement carries itself (literals), by name."""
    positional: bool
    result_types: tuple[Any, ...]

    def arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for name, process in zip(self.names, self.processors, strict=True):
            if name in params:
                value = params[name]
            elif name in self.fixed:
                value = self.fixed[name]
            else:
                raise KeyError(f"A value is required for bind parameter {name!r}")
            if isinstance(value, _Default):
                value = value.make(None)  # a Python-side column default: a new value each time
            values.append(value if process is None else process(value))
        if self.positional:
            return values
        return dict(zip(self.names, values, strict=True))


@dataclass(slots=True)
class Rows:
    """What a `Direct` statement answered: its rows (processed) and its row count."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


@dataclass
class Direct:
    """A Core statement run on the driver (see the module's docstring)."""

    statement: ClauseElement
    _plans: dict[tuple[str, tuple[str, ...], bool], _Plan] = field(default_factory=dict, repr=False)
    _results: dict[str, tuple[Processor, ...]] = field(default_factory=dict, repr=False)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Rows:
        plan = self._plan(conn.dialect, tuple(params))
        arguments = _prepared(plan, lambda: plan.arguments(params), params)
        cursor = self._cursor(conn)
        try:
            cursor.execute(plan.sql, arguments)
            rows = cursor.fetchall() if plan.result_types else []
            if rows:
                processors = self._processors(conn.dialect, plan, cursor.description)
                if any(processors):
                    rows = [_processed(row, processors) for row in rows]
            rowcount = cursor.rowcount
        except conn.dialect.loaded_dbapi.Error as error:
            raise self._failed(conn, plan, arguments, error, cursor) from error
        finally:
            cursor.close()
        return Rows(rows, rowcount)

    def executemany(self, conn: Connection, many: Sequence[Mapping[str, Any]]) -> None:
        if not many:
            return
        plan = self._plan(conn.dialect, tuple(many[0]), many=True)
        arguments = _prepared(plan, lambda: [plan.arguments(params) for params in many], many)
        cursor = self._cursor(conn)
        try:
            cursor.executemany(plan.sql, arguments)
        except conn.dialect.loaded_dbapi.Error as error:
            raise self._failed(conn, plan, arguments, error, cursor) from error
        finally:
            cursor.close()

    @staticmethod
    def _cursor(conn: Connection) -> Any:
        if not conn.in_transaction():
            conn.begin()  # as SQLAlchemy's autobegin: the SQLite writers' BEGIN IMMEDIATE, say
        return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _plan(self, dialect: Dialect, names: tuple[str, ...], *, many: bool = False) -> _Plan:
        key = (dialect.name, names, many)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(self.statement, dialect, names, many=many)
        return plan

    def _processors(self, dialect: Dialect, plan: _Plan, description: Any) -> tuple[Processor, ...]:
        """The result processors of `plan`, made from the driver's type codes of its
        first rows and kept."""
        processors = self._results.get(plan.sql)
        if processors is None:
            processors = self._results[plan.sql] = tuple(
                column_type.dialect_impl(dialect).result_processor(dialect, column[1])
                for column_type, column in zip(plan.result_types, description, strict=True)
            )
        return processors

    @staticmethod
    def _failed(
        conn: Connection, plan: _Plan, arguments: Any, error: Exception, cursor: Any
    ) -> DBAPIError:
        dialect = conn.dialect
        lost = dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor)
        if lost:
            conn.invalidate(error)
            # The pool's other connections are likely as dead as this one: closed
            # now if idle, dropped when handed back otherwise.
            conn.engine.dispose()
        return DBAPIError.instance(  # type: ignore[no-any-return]
            plan.sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        )


def _processed(row: Sequence[Any], processors: tuple[Processor, ...]) -> tuple[Any, ...]:
    return tuple(v if p is None else p(v) for v, p in zip(row, processors, strict=True))


def _prepared(plan: _Plan, build: Callable[[], A], params: Any) -> A:
    """The driver's arguments; a value that cannot be bound (a naive datetime, data
    that is not JSON, a missing parameter) raises SQLAlchemy's `StatementError`."""
    try:
        return build()
    except (KeyError, TypeError, ValueError) as error:
        raise StatementError(str(error), plan.sql, params, error) from error


def _compile(
    statement: ClauseElement, dialect: Dialect, names: Iterable[str], *, many: bool
) -> _Plan:
    given = list(names)
    # (for_executemany: no implicit RETURNING of the primary key, as SQLAlchemy does.)
    compiled = statement.compile(dialect=dialect, column_keys=given, for_executemany=many)
    # Which binds take the caller's values, and which the statement's own.
    constructed = compiled.construct_params(dict.fromkeys(given, _GIVEN), _check=False)
    positional = compiled.positional
    order = list(compiled.positiontup or ()) if positional else list(constructed)
    fixed = {
        name: value
        for name, value in constructed.items()
        if value is not _GIVEN and not compiled.binds[name].required
    }
    # Columns left out of an INSERT (or UPDATE) get their Python-side default, as
    # SQLAlchemy's execution context would compute it.
    for column in compiled.insert_prefetch + compiled.update_prefetch:
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if default is None or not (default.is_scalar or default.is_callable):
            raise TypeError(f"{column}: a default computed in SQL cannot be run directly")
        fixed[column.key] = default.arg if default.is_scalar else _Default(default.arg)
    processors = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
    )
    selected = getattr(statement, "selected_columns", None)
    returning = getattr(compiled, "returning", None) or ()
    columns = list(selected) if selected is not None else list(returning)
    return _Plan(
        sql=compiled.string,
        names=tuple(order),
        processors=processors,
        fixed=fixed,
        positional=positional,
        result_types=tuple(column.type for column in columns),
    )
