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


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """`hide_parameters`: a database error's text (which reaches logs and dead-letter
    headers) names the statement, never the values bound to it: customers' words and
    numbers stay out."""
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size,
                               pool_pre_ping=True, hide_parameters=True)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
