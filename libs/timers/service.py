"""Scheduling and claiming durable timers (docs/architecture.md, "Timers")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from libs.timers.models import Timer

LEASE = timedelta(minutes=2)
"""How long a claimed timer is left to its ticker before another may claim it."""


_NEW_TIMER = insert(Timer).values(
    owner=bindparam("owner"), kind=bindparam("kind"), key=bindparam("key"),
    business_id=bindparam("business_id"), due_at=bindparam("due_at"),
    payload=bindparam("payload"))
_SCHEDULE = _NEW_TIMER.on_conflict_do_update(
    index_elements=[Timer.owner, Timer.key],
    set_={"due_at": _NEW_TIMER.excluded.due_at, "payload": _NEW_TIMER.excluded.payload,
          "kind": _NEW_TIMER.excluded.kind, "fired_at": None, "claimed_until": None})
_CANCEL = delete(Timer).where(Timer.owner == bindparam("owner"), Timer.key == bindparam("key"))
"""Built once: a turn schedules or cancels a timer nearly every time, and building the
statement cost more CPU than sending it (docs/scaling.md, "Statements built once")."""


async def schedule(session: AsyncSession, *, owner: str, kind: str, key: str, business_id: str,
                   due_at: datetime, payload: dict[str, Any] | None = None) -> None:
    """Create or move the timer `key` (idempotent: a second schedule replaces the first)."""
    await session.execute(_SCHEDULE, {"owner": owner, "kind": kind, "key": key,
                                      "business_id": business_id, "due_at": due_at,
                                      "payload": payload or {}})


async def cancel(session: AsyncSession, *, owner: str, key: str) -> None:
    await session.execute(_CANCEL, {"owner": owner, "key": key})


async def claim_due(session_factory: async_sessionmaker[AsyncSession], clock: Clock, *,
                    owner: str, limit: int = 100, lease: timedelta = LEASE) -> Sequence[Timer]:
    """Claim up to `limit` of `owner`'s due timers for `lease`, oldest first.

    FOR UPDATE SKIP LOCKED keeps two tickers off the same rows while they claim; the lease
    keeps them off while the first one fires them.
    """
    now = clock.now()
    async with session_factory() as session, session.begin():
        due = (await session.scalars(
            select(Timer)
            .where(Timer.owner == owner, Timer.fired_at.is_(None), Timer.due_at <= now,
                   or_(Timer.claimed_until.is_(None), Timer.claimed_until <= now))
            .order_by(Timer.due_at, Timer.id)
            .limit(limit)
            .with_for_update(skip_locked=True))).all()
        if due:
            await session.execute(update(Timer).where(Timer.id.in_([t.id for t in due]))
                                  .values(claimed_until=now + lease))
    return due


async def mark_fired(session: AsyncSession, timer: Timer, now: datetime) -> bool:
    """In the firing transaction: True for the one transaction that fires this timer."""
    fired = await session.scalar(
        update(Timer).where(Timer.id == timer.id, Timer.fired_at.is_(None),
                            Timer.due_at == timer.due_at)
        .values(fired_at=now).returning(Timer.id))
    return fired is not None


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest unfired timer of any owner can next be claimed (the scenario clock
    jumps to it)."""
    due: datetime | None = await session.scalar(
        select(func.min(func.greatest(Timer.due_at, func.coalesce(Timer.claimed_until,
                                                                  Timer.due_at))))
        .where(Timer.fired_at.is_(None)))
    return due
