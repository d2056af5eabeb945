"""Firing a service's due timers with the same guarantees as handling a message: the
timer's effect, its `fired_at` mark and the messages it emits commit together, and each
timer fires once however many tickers run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import DepsT, Guard, Handler, HandlerContext, PermanentError, run_handler
from libs.clock import Clock
from libs.timers.models import Timer
from libs.timers.service import claim_due, mark_fired

log = logging.getLogger(__name__)

TimerHandler = Handler[DepsT]
"""`on_<kind>(ctx, timer, deps)`: the same shape as a message handler."""


def timer_guard(timer: Timer, clock: Clock) -> Guard:
    async def claim(session: AsyncSession) -> bool:
        return await mark_fired(session, timer, clock.now())

    return claim


async def tick(session_factory: async_sessionmaker[AsyncSession], clock: Clock, *, owner: str,
               handlers: Mapping[str, TimerHandler[Any]], deps: Any,
               on_commit: Callable[[], None] | None = None) -> int:
    """Fire everything of `owner` that is due now; returns how many timers fired. A timer
    whose handler fails stays claimed until its lease ends, then fires again."""
    fired = 0
    while due := await claim_due(session_factory, clock, owner=owner):
        for timer in due:
            handler = handlers.get(timer.kind)
            if handler is None:
                log.error("%s: no handler for timer kind %r (%s)", owner, timer.kind, timer.key)
                continue
            ctx = HandlerContext(envelope=None, sessions=session_factory, clock=clock,
                                 business_id=timer.business_id,
                                 guard=timer_guard(timer, clock))
            try:
                if await run_handler(handler, ctx, timer, deps):
                    fired += 1
            except PermanentError as exc:
                log.error("%s: timer %s failed permanently and is dropped: %s", owner,
                          timer.key, exc)
                async with session_factory() as session, session.begin():
                    await mark_fired(session, timer, clock.now())
            except Exception:
                log.exception("%s: timer %s failed; it fires again when its lease ends",
                              owner, timer.key)
    if fired and on_commit is not None:
        on_commit()
    return fired
