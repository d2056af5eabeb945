"""Engines and sessions: SQLAlchemy 2.0 async over psycopg 3."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """Accept any PostgreSQL URL spelling and use the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


POOL_TIMEOUT_S = 10.0


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """A fixed pool (no overflow): a process never holds more than `pool_size` connections,
    so the connection budget of a deployment is the sum of its pools (docs/operations.md).
    A handler that waits longer than `POOL_TIMEOUT_S` for one fails transiently and is
    retried.

    `hide_parameters`: a database error's text (which reaches logs and dead-letter
    headers) names the statement, never the values bound to it: customers' words and
    numbers stay out."""
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=0,
                               pool_timeout=POOL_TIMEOUT_S, pool_pre_ping=True,
                               hide_parameters=True)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
