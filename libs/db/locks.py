"""Transaction-scoped advisory locks: what keeps one customer's (or recipient's) work in
order across replicas. PgBouncer's transaction pooling allows them (docs/scaling.md)."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)))
"""Built once: several services take one on every message (docs/scaling.md, "Statements
built once")."""


async def lock_until_commit(session: AsyncSession, key: str) -> None:
    """Wait for, then hold to the end of the transaction, the lock named `key` (two keys
    whose hashes collide merely wait for each other)."""
    await session.execute(_LOCK, {"key": key})
