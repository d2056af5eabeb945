"""Firing a service's due timers with the same guarantees as handling an event: the timer's
effect and the events it emits commit together (outbox), and each timer fires once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import HandlerContext
from libs.bus.outbox import add_to_outbox
from libs.clock import Clock
from libs.timers.models import Timer
from libs.timers.service import fire_due

TimerHandler = Callable[[HandlerContext, Timer], Awaitable[None]]


async def tick(session_factory: async_sessionmaker[AsyncSession], clock: Clock, *, owner: str,
               handler: TimerHandler, on_commit: Callable[[], None] | None = None) -> int:
    """Fire everything of `owner` that is due now; returns how many timers fired."""

    async def on_due(session: AsyncSession, timer: Timer) -> None:
        ctx = HandlerContext.for_timer(timer.business_id, session, clock)
        await handler(ctx, timer)
        add_to_outbox(session, ctx.emitted)

    fired = await fire_due(session_factory, clock, owner=owner, on_due=on_due)
    if fired and on_commit is not None:
        on_commit()
    return fired
