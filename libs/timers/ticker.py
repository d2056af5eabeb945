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
from libs.db.direct import Db
from libs.logs import log_context
from libs.metrics import (
    TIMER_SECONDS,
    TIMERS_DROPPED,
    TIMERS_DUPLICATE,
    TIMERS_FAILED,
    TIMERS_FIRED,
)
from libs.timers.models import Timer
from libs.timers.service import claim_due, mark_fired

log = logging.getLogger(__name__)

TimerHandler = Handler[DepsT]
"""`on_<kind>(ctx, timer, deps)`: the same shape as a message handler."""


def timer_guard(timer: Timer, clock: Clock) -> Guard:
    async def claim(db: Db) -> bool:
        return await mark_fired(db, timer, clock.now())

    return claim


async def tick(session_factory: async_sessionmaker[AsyncSession], clock: Clock, *, owner: str,
               handlers: Mapping[str, TimerHandler[Any]], deps: Any,
               on_commit: Callable[[], None] | None = None,
               stopping: Callable[[], bool] | None = None) -> int:
    """Fire everything of `owner` that is due now; returns how many timers fired. A timer
    whose handler fails stays claimed until its lease ends, then fires again. Once
    `stopping()` holds (shutdown), nothing more is claimed or started."""
    fired = 0
    while not (stopping and stopping()) and (
            due := await claim_due(session_factory, clock, owner=owner)):
        for timer in due:
            if stopping and stopping():
                break  # the rest of the batch fires when its lease ends
            if await _fire(session_factory, clock, owner, handlers, deps, timer):
                fired += 1
    if fired and on_commit is not None:
        on_commit()
    return fired


async def _fire(session_factory: async_sessionmaker[AsyncSession], clock: Clock, owner: str,
                handlers: Mapping[str, TimerHandler[Any]], deps: Any, timer: Timer) -> bool:
    """One timer, in its handler's transaction; True when this call fired it."""
    ctx = HandlerContext(envelope=None, sessions=session_factory, clock=clock,
                         business_id=timer.business_id, guard=timer_guard(timer, clock))
    with log_context(service=owner, correlation_id=ctx.correlation_id,
                     business_id=timer.business_id, timer=timer.key, timer_kind=timer.kind):
        handler = handlers.get(timer.kind)
        if handler is None:
            TIMERS_FAILED.labels(owner, timer.kind).inc()
            log.error("%s: no handler for timer kind %r (%s)", owner, timer.kind, timer.key)
            return False
        try:
            with TIMER_SECONDS.labels(owner, timer.kind).time():
                fired = await run_handler(handler, ctx, timer, deps)
        except PermanentError as exc:
            TIMERS_DROPPED.labels(owner, timer.kind).inc()
            log.error("%s: timer %s failed permanently and is dropped: %s", owner,
                      timer.key, exc)
            async with session_factory() as session, session.begin():
                await mark_fired(session, timer, clock.now())
            return False
        except Exception:
            TIMERS_FAILED.labels(owner, timer.kind).inc()
            log.exception("%s: timer %s failed; it fires again when its lease ends",
                          owner, timer.key)
            return False
        (TIMERS_FIRED if fired else TIMERS_DUPLICATE).labels(owner, timer.kind).inc()
        return fired
