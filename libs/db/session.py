"""Engines and sessions: SQLAlchemy 2.0 async over psycopg 3."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from libs.logs import current_log_context
from libs.metrics import DB_STATEMENTS


def async_url(url: str) -> str:
    """Accept any PostgreSQL URL spelling and use the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


POOL_TIMEOUT_S = 10.0
POOL_RECYCLE_S = 1800


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """A fixed pool (no overflow): a process never holds more than `pool_size` connections,
    so the connection budget of a deployment is the sum of its pools (docs/operations.md).
    A handler that waits longer than `POOL_TIMEOUT_S` for one fails transiently and is
    retried.

    No pre-ping (a `SELECT 1` before every checkout): a connection that died with the
    server fails its first statement instead, which is a transient error (retried; the pool
    drops the connection), and the pool recycles connections every `POOL_RECYCLE_S`.

    `hide_parameters`: a database error's text (which reaches logs and dead-letter
    headers) names the statement, never the values bound to it: customers' words and
    numbers stay out."""
    engine = create_async_engine(async_url(url), pool_size=pool_size, max_overflow=0,
                                 pool_timeout=POOL_TIMEOUT_S, pool_recycle=POOL_RECYCLE_S,
                                 hide_parameters=True)
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def _count_statement(*_: Any) -> None:
    """`receptionist_db_statements_total`, by the service handling (the log context's)."""
    DB_STATEMENTS.labels(current_log_context().get("service") or "other").inc()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit_sessions(sessions: async_sessionmaker[AsyncSession]
                        ) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool whose statements run outside a transaction: each is its
    own, and commits by itself. psycopg opens a transaction with a `BEGIN` round trip of
    its own and ends it with another, so a session of reads only, or of one write, saves
    two round trips. The connection goes back to the pool at the default level."""
    engine = sessions.kw["bind"]
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                              expire_on_commit=False)
