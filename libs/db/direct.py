"""Statements every message sends, run by psycopg on the session's own connection.

SQLAlchemy's path from `session.execute` to psycopg (the session, a greenlet, the execution
context, the result) cost a service more CPU than psycopg's own work for the statement:
about 110 of 180 us for the smallest, more for a statement with many columns or an `IN`
list, which SQLAlchemy renders again on every call (docs/scaling.md, "Statements through
psycopg"). A turn sends about fourteen. A `Direct` statement is still written in Core (typed,
checked, built once) and compiled once by SQLAlchemy; each call then goes to psycopg:

- on the connection of the session's transaction (or of its autocommit session), so it is
  part of whatever else the transaction did and commits or rolls back with it;
- after the session's autoflush, as SQLAlchemy would make it: what the ORM holds unwritten
  is flushed first, unless the session says `no_autoflush`;
- with the parameters processed by the same type processors SQLAlchemy applies (JSON,
  arrays, booleans), and literal values bound in the statement filled in;
- announced to the engine's `before_cursor_execute` and `after_cursor_execute` listeners
  (with no execution context), so the statement counter and the tests that count or check
  statements see it as they see any other;
- a failure raised as SQLAlchemy raises it (`sqlalchemy.exc.DBAPIError`'s subclass for the
  psycopg error, the parameters hidden), so the callers' handling and the transient-error
  classification are the same.

Rows come back as psycopg makes them (named tuples: by position or by column name), with the
Python types psycopg gives PostgreSQL's, which are the ones SQLAlchemy's psycopg dialect
hands back for the types used here (uuid, text, timestamptz, numeric, integer, boolean,
jsonb, arrays). A parameter SQLAlchemy renders into the SQL on every call (`in_()` of a list,
a `literal_execute` value) has no fixed SQL: such a statement is refused; `== any_(array)`
says what `in_()` said in one fixed statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg.rows import RowMaker, namedtuple_row
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]  # the services' dialect
Processor = Callable[[Any], Any]


class NotDirect(ValueError):
    """A statement `Direct` cannot run as compiled once."""


@dataclass(frozen=True)
class Direct:
    """One Core statement, compiled once, run through psycopg (the module's docstring)."""

    sql: str
    required: frozenset[str]
    """The parameters each call must give."""
    literals: Mapping[str, Any]
    """Values bound in the statement itself (`values(fired_at=None)`), processed."""
    processors: Mapping[str, Processor]
    """The dialect's bind processors, by parameter, where its type has one."""
    _row_maker: list[RowMaker[Any]] = field(default_factory=list, compare=False, repr=False)
    """The named tuple of the statement's columns, made from its first result: psycopg's
    `namedtuple_row` reads every column's name again for each result."""

    @classmethod
    def of(cls, statement: ClauseElement) -> Direct:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        required: set[str] = set()
        literals: dict[str, Any] = {}
        processors: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            if bind.expanding or bind.literal_execute:
                raise NotDirect(f"{name!r} is rendered into the SQL on every call (in_() of a "
                                "list, or a literal_execute value): use == any_(array), or "
                                "a plain parameter, instead")
            process = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            if process is not None:
                processors[name] = process
            if bind.required:
                required.add(name)
            else:
                value = bind.effective_value
                literals[name] = value if process is None else process(value)
        return cls(compiled.string, frozenset(required), literals, processors)

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The statement's parameters from what a call gives: each processed by its type, the
        literals added; a missing or unknown name is an error, as SQLAlchemy's."""
        missing = self.required - given.keys()
        if missing:
            raise sa_exc.ArgumentError(f"a value is required for {sorted(missing)}")
        unknown = given.keys() - self.required
        if unknown:
            raise sa_exc.ArgumentError(f"the statement has no parameter {sorted(unknown)}")
        out = dict(self.literals)
        for name, value in given.items():
            process = self.processors.get(name)
            out[name] = value if process is None else process(value)
        return out

    async def all(self, session: AsyncSession, params: Mapping[str, Any] | None = None
                  ) -> list[Any]:
        """Every row the statement returns."""
        return await self._run(session, params or {}, fetch="all")  # type: ignore[no-any-return]

    async def first(self, session: AsyncSession, params: Mapping[str, Any] | None = None
                    ) -> Any | None:
        """The first row, or None."""
        return await self._run(session, params or {}, fetch="one")

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any] | None = None
                     ) -> Any | None:
        """The first column of the first row, or None."""
        row = await self.first(session, params)
        return None if row is None else row[0]

    async def rowcount(self, session: AsyncSession, params: Mapping[str, Any] | None = None
                       ) -> int:
        """How many rows it changed (for a statement that returns none)."""
        return await self._run(session, params or {}, fetch="count")  # type: ignore[no-any-return]

    def _rows(self, cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Any]:
        if self._row_maker:
            return self._row_maker[0]
        made = namedtuple_row(cursor)
        if cursor.pgresult is not None and cursor.pgresult.nfields:
            self._row_maker.append(made)
        return made

    async def _run(self, session: AsyncSession, given: Mapping[str, Any], *,
                   fetch: Literal["all", "one", "count"]) -> Any:
        params = self.parameters(given)
        sync_session = session.sync_session
        if sync_session.autoflush and (sync_session.new or sync_session.dirty
                                       or sync_session.deleted):
            await session.flush()  # what the statement may read, as SQLAlchemy's autoflush
        sync, driver = await _connection_of(session)
        cursor = driver.cursor(row_factory=self._rows)
        _announce(sync, "before_cursor_execute", cursor, self.sql, params)
        try:
            await cursor.execute(self.sql, params)
            if fetch == "all":
                result: Any = await cursor.fetchall()
            elif fetch == "one":
                result = await cursor.fetchone() if cursor.description else None
            else:
                result = cursor.rowcount
        except psycopg.Error as exc:
            raise sa_exc.DBAPIError.instance(self.sql, None, exc, psycopg.Error,
                                             hide_parameters=True, dialect=_DIALECT) from exc
        finally:
            await cursor.close()
        _announce(sync, "after_cursor_execute", cursor, self.sql, params)
        return result


_CONNECTION = "libs.db.direct.connection"


async def _connection_of(session: AsyncSession) -> tuple[Connection, psycopg.AsyncConnection[Any]]:
    """The connection of the session's transaction (begun if it was not), and psycopg's
    beneath it. Kept in the session's `info` for the rest of that transaction: asking the
    session for it costs two greenlet switches, a tenth of a statement."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if kept is not None and transaction is not None and kept[0] is transaction \
            and transaction.is_active:
        return kept[1], kept[2]
    connection = await session.connection()
    sync = connection.sync_connection
    driver = (await connection.get_raw_connection()).driver_connection
    assert sync is not None and isinstance(driver, psycopg.AsyncConnection)
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), sync, driver)
    return sync, driver


def _announce(sync: Connection, event: str, cursor: Any, sql: str,
              params: Mapping[str, Any]) -> None:
    """The engine's cursor listeners, called as SQLAlchemy calls them (no execution
    context: none was made)."""
    getattr(sync.dispatch, event)(sync, cursor, sql, params, None, False)
