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

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker, namedtuple_row
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.concurrency import greenlet_spawn

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

    async def all(self, db: Db, params: Mapping[str, Any] | None = None
                  ) -> list[Any]:
        """Every row the statement returns."""
        return await self._run(db, params or {}, fetch="all")  # type: ignore[no-any-return]

    async def first(self, db: Db, params: Mapping[str, Any] | None = None
                    ) -> Any | None:
        """The first row, or None."""
        return await self._run(db, params or {}, fetch="one")

    async def scalar(self, db: Db, params: Mapping[str, Any] | None = None
                     ) -> Any | None:
        """The first column of the first row, or None."""
        row = await self.first(db, params)
        return None if row is None else row[0]

    async def rowcount(self, db: Db, params: Mapping[str, Any] | None = None
                       ) -> int:
        """How many rows it changed (for a statement that returns none)."""
        return await self._run(db, params or {}, fetch="count")  # type: ignore[no-any-return]

    def _rows(self, cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Any]:
        if self._row_maker:
            return self._row_maker[0]
        made = namedtuple_row(cursor)
        if cursor.pgresult is not None and cursor.pgresult.nfields:
            self._row_maker.append(made)
        return made

    async def many(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once for each of `rows` (psycopg's `executemany`, pipelined: one
        round trip for them all); nothing is returned."""
        if rows:
            await self._run(db, [self.parameters(row) for row in rows], fetch="many")

    async def _run(self, db: Db, given: Mapping[str, Any] | list[dict[str, Any]], *,
                   fetch: Literal["all", "one", "count", "many"]) -> Any:
        params = given if isinstance(given, list) else self.parameters(given)
        if isinstance(db, DirectConnection):
            engine, driver = db.engine, db.driver
        else:
            sync_session = db.sync_session
            if sync_session.autoflush and (sync_session.new or sync_session.dirty
                                           or sync_session.deleted):
                await db.flush()  # what the statement may read, as SQLAlchemy's autoflush
            engine, driver = await _connection_of(db)
        cursor = driver.cursor(row_factory=self._rows)
        many = isinstance(params, list)
        _announce(engine, "before_cursor_execute", cursor, self.sql, params, many)
        try:
            if isinstance(params, list):
                await cursor.executemany(self.sql, params)
                result: Any = None
            else:
                await cursor.execute(self.sql, params)
                if fetch == "all":
                    result = await cursor.fetchall()
                elif fetch == "one":
                    result = await cursor.fetchone() if cursor.description else None
                else:
                    result = cursor.rowcount
        except psycopg.Error as exc:
            raise _raised(self.sql, exc) from exc
        finally:
            await cursor.close()
        _announce(engine, "after_cursor_execute", cursor, self.sql, params, many)
        return result


_CONNECTION = "libs.db.direct.connection"


async def _connection_of(session: AsyncSession) -> tuple[Engine, psycopg.AsyncConnection[Any]]:
    """The engine of the session's transaction (begun if it was not) and psycopg's
    connection beneath it. Kept in the session's `info` for the rest of that transaction:
    asking the session for it costs two greenlet switches, a tenth of a statement."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if kept is not None and transaction is not None and kept[0] is transaction \
            and transaction.is_active:
        return kept[1], kept[2]
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    engine = connection.sync_engine
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), engine, driver)
    return engine, driver


def _announce(engine: Engine, event: str, cursor: Any, sql: str,
              params: Mapping[str, Any] | list[dict[str, Any]], many: bool) -> None:
    """The engine's cursor listeners (its own and `Engine`'s), called as SQLAlchemy calls
    them but with neither a `Connection` nor an execution context: none was made."""
    getattr(engine.dispatch, event)(None, cursor, sql, params, None, many)


def _raised(sql: str, exc: psycopg.Error) -> sa_exc.StatementError:
    """psycopg's error as SQLAlchemy raises it (its class for the DBAPI's, the parameters
    hidden)."""
    return sa_exc.DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True,
                                      dialect=_DIALECT)


# --- a pooled connection without the session ----------------------------------------------


@dataclass
class DirectConnection:
    """A connection of the engine's pool driven by psycopg alone, for work made only of
    `Direct` statements: a session's transaction costs about 300 us of CPU more than the
    same statements on its pooled connection (docs/scaling.md, "Transactions without the
    session"). Opened by `direct_transaction` or `direct_autocommit`."""

    engine: Engine
    """The pool's engine: its cursor listeners see every statement."""
    driver: psycopg.AsyncConnection[Any]


@contextlib.asynccontextmanager
async def direct_transaction(engine: AsyncEngine) -> AsyncIterator[DirectConnection]:
    """One transaction on a pooled connection: committed when the block ends, rolled back
    if it raises; the connection goes back to the pool either way (or is dropped, if it
    broke). A failure to commit is raised as SQLAlchemy raises it."""
    async with _pooled(engine) as connection:
        try:
            yield connection
        except BaseException:
            if _between_statements(connection.driver):  # else the pool drops it
                with contextlib.suppress(psycopg.Error):  # the block's error is the one to see
                    await connection.driver.rollback()
            raise
        try:
            await connection.driver.commit()
        except psycopg.Error as exc:
            raise _raised("COMMIT", exc) from exc


@contextlib.asynccontextmanager
async def direct_autocommit(engine: AsyncEngine) -> AsyncIterator[DirectConnection]:
    """A pooled connection on which each statement commits by itself (no `BEGIN` and
    `COMMIT` round trips: for a single write, or reads only), back at the default level
    when the block ends."""
    async with _pooled(engine) as connection:
        await connection.driver.set_autocommit(True)
        try:
            yield connection
        finally:
            if _idle(connection.driver):
                await connection.driver.set_autocommit(False)


@contextlib.asynccontextmanager
async def _pooled(engine: AsyncEngine) -> AsyncIterator[DirectConnection]:
    """A connection checked out of the engine's pool (a timeout, or a refused connect, is
    SQLAlchemy's error, as a session's would be) and checked back in, which resets it; one
    that broke is invalidated rather than reused. The pool's own code may make I/O through
    SQLAlchemy's greenlet bridge, hence `greenlet_spawn`."""
    pooled = await greenlet_spawn(engine.sync_engine.raw_connection)
    driver = pooled.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    try:
        yield DirectConnection(engine.sync_engine, driver)
    finally:
        if _idle(driver) and not driver.autocommit:
            await greenlet_spawn(pooled.close)
        else:  # broken, or left mid-statement (a cancelled block): not for the next user
            await greenlet_spawn(pooled.invalidate)


def _between_statements(driver: psycopg.AsyncConnection[Any]) -> bool:
    """Open, and not in the middle of a statement (a block cancelled while one ran)."""
    return not (driver.broken or driver.closed) and driver.info.transaction_status in (
        TransactionStatus.IDLE, TransactionStatus.INTRANS, TransactionStatus.INERROR)


def _idle(driver: psycopg.AsyncConnection[Any]) -> bool:
    """Open, and in no transaction nor statement."""
    return _between_statements(driver) \
        and driver.info.transaction_status == TransactionStatus.IDLE


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine a session factory binds to (its pool is the one `direct_*` use)."""
    bind = sessions.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


_COMPILED: dict[tuple[int, Callable[[Any], Direct]], tuple[Any, Direct]] = {}


def compiled_once(statement: Any, compile_: Callable[[Any], Direct]) -> Direct:
    """`compile_(statement)`, made once per module-level statement and kept (the statement
    is kept with it, so its id is never reused): for statements composed from a
    handler's own, such as the claim with a handler's last write."""
    key = (id(statement), compile_)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED.setdefault(key, (statement, compile_(statement)))
    return found[1]


Db = AsyncSession | DirectConnection
"""Where a `Direct` statement runs: a session's transaction, or a pooled connection."""
