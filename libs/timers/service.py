"""Scheduling and claiming durable timers (DESIGN.md, "Timers")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from libs.timers.models import Timer


async def schedule(session: AsyncSession, *, owner: str, kind: str, key: str, business_id: str,
                   due_at: datetime, payload: dict[str, Any] | None = None) -> None:
    """Create or move the timer `key` (idempotent: a second schedule replaces the first)."""
    stmt = insert(Timer).values(owner=owner, kind=kind, key=key, business_id=business_id,
                                due_at=due_at, payload=payload or {})
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[Timer.owner, Timer.key],
        set_={"due_at": stmt.excluded.due_at, "payload": stmt.excluded.payload,
              "kind": stmt.excluded.kind, "fired_at": None}))


async def cancel(session: AsyncSession, *, owner: str, key: str) -> None:
    await session.execute(delete(Timer).where(Timer.owner == owner, Timer.key == key))


TimerCallback = Callable[[AsyncSession, Timer], Awaitable[None]]


async def fire_due(session_factory: async_sessionmaker[AsyncSession], clock: Clock, *,
                   owner: str, on_due: TimerCallback, batch_size: int = 100) -> int:
    """Fire every timer of `owner` due by now, each in its own transaction with its effect.

    A row is claimed with FOR UPDATE SKIP LOCKED, so replicas never fire one timer twice;
    a crash before the commit leaves it unfired, to be claimed again.
    """
    fired = 0
    while True:
        async with session_factory() as session, session.begin():
            timer = await session.scalar(
                select(Timer)
                .where(Timer.owner == owner, Timer.fired_at.is_(None),
                       Timer.due_at <= clock.now())
                .order_by(Timer.due_at)
                .limit(1)
                .with_for_update(skip_locked=True))
            if timer is None:
                return fired
            timer.fired_at = clock.now()
            await on_due(session, timer)
        fired += 1
        if fired >= batch_size:
            return fired


async def next_due_at(session: AsyncSession) -> datetime | None:
    """The earliest unfired timer of any owner (the scenario clock jumps to it)."""
    due: datetime | None = await session.scalar(
        select(func.min(Timer.due_at)).where(Timer.fired_at.is_(None)))
    return due
