"""Small helpers shared by the integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from libs.bus.amqp import queue_state
from libs.bus.consumer import inbox_claim
from libs.bus.context import Handler, HandlerContext, run_handler
from libs.clock import Clock
from libs.contracts.commands import ReplyRequested
from libs.contracts.envelope import Envelope
from libs.contracts.message import Message
from libs.contracts.registry import MESSAGE_TYPES, make_envelope
from libs.timers.models import Timer
from libs.timers.ticker import timer_guard

REPO = Path(__file__).resolve().parent.parent
FIXTURE_BUSINESSES = REPO / "examples" / "businesses"
NLU_SETS = REPO / "tests" / "nlu"
OWN_SCENARIOS = REPO / "tests" / "scenarios"
SHARED = Path(os.environ.get("RECEPTIONIST_SHARED", REPO.parent / "shared"))
"""The outside acceptance set (CI has it beside the clone): used when present, never needed."""


async def eventually(check: Callable[[], Awaitable[bool]], *, within_s: float = 15.0,
                     what: str = "condition") -> None:
    """Wait until `check()` holds; fail naming `what` if it never does (a bound, not a timing
    assertion: nothing here depends on how fast it happens)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def reply_envelope(text: str = "hello", *, business_id: str = "salon",
                   event_id: uuid.UUID | None = None) -> Envelope:
    return make_envelope(
        ReplyRequested(channel="sms", to="+15555550100", text=text),
        business_id=business_id, occurred_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        event_id=event_id)


async def handle(handler: Handler[Any], message: Message, deps: Any, *,
                 sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 business_id: str = "salon", consumer: str = "test") -> list[Message]:
    """Run one handler as its consumer would (the inbox claimed with the outbox rows, one
    write); what it emitted."""
    envelope = make_envelope(message, business_id=business_id, occurred_at=clock.now())
    ctx = HandlerContext(envelope=envelope, sessions=sessions, clock=clock,
                         business_id=business_id, claim=inbox_claim(consumer, envelope),
                         correlation_id=envelope.correlation_id)
    await run_handler(handler, ctx, message, deps)
    return [read_back(e) for e in ctx.emitted]


async def handle_envelope(handler: Handler[Any], envelope: Envelope, deps: Any, *,
                          sessions: async_sessionmaker[AsyncSession], clock: Clock,
                          consumer: str = "test") -> list[Message]:
    """Run one handler on an envelope as it came off the bus (its own event id)."""
    message = MESSAGE_TYPES[envelope.type].model_validate_json(json.dumps(envelope.payload))
    ctx = HandlerContext(envelope=envelope, sessions=sessions, clock=clock,
                         business_id=envelope.business_id,
                         claim=inbox_claim(consumer, envelope),
                         correlation_id=envelope.correlation_id)
    await run_handler(handler, ctx, message, deps)
    return [read_back(e) for e in ctx.emitted]


async def fire(handler: Handler[Any], timer: Timer, deps: Any, *,
               sessions: async_sessionmaker[AsyncSession], clock: Clock) -> list[Message]:
    """Fire one timer as the ticker would; what it emitted."""
    ctx = HandlerContext(envelope=None, sessions=sessions, clock=clock,
                         business_id=timer.business_id, guard=timer_guard(timer, clock))
    await run_handler(handler, ctx, timer, deps)
    return [read_back(e) for e in ctx.emitted]


def read_back(envelope: Envelope) -> Message:
    """The message as a consumer would parse it off the bus."""
    return MESSAGE_TYPES[envelope.type].model_validate_json(json.dumps(envelope.payload))


async def queue_drained(amqp_url: str, queue: str) -> bool:
    """With a consumer on it, nothing ready: everything delivered was acked or is in hand."""
    async with await aio_pika.connect(amqp_url) as connection:
        ready, consumers = await queue_state(connection, queue)
    return ready == 0 and consumers >= 1


@contextlib.contextmanager
def listening(target: Any, identifier: str, listener: Callable[..., Any]) -> Iterator[None]:
    """`listener` on SQLAlchemy's `identifier` event of `target` for the block only."""
    event.listen(target, identifier, listener)
    try:
        yield
    finally:
        event.remove(target, identifier, listener)


@contextlib.contextmanager
def orm_writes() -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements run on mapped classes inside the block (the
    first line of each): those take the ORM's bulk path, which builds the statement again
    on every call, so what runs per message is written on the tables instead."""
    seen: list[str] = []

    def record(state: ORMExecuteState) -> None:
        if state.is_orm_statement and (state.is_insert or state.is_update or state.is_delete):
            seen.append(str(state.statement).split("\n")[0])

    with listening(Session, "do_orm_execute", record):
        yield seen


@contextlib.contextmanager
def unit_of_work_rows() -> Iterator[list[str]]:
    """The class of every object the ORM's unit of work wrote inside the block (added,
    changed or deleted, at each flush): a flush costs more CPU than the statements it
    sends, so a row written on every turn is written on its table instead."""
    seen: list[str] = []

    def record(session: Session, _context: Any, _instances: Any) -> None:
        changed = [o for o in session.dirty if session.is_modified(o)]
        seen.extend(type(o).__name__ for o in (*session.new, *changed, *session.deleted))

    with listening(Session, "before_flush", record):
        yield seen


@contextlib.contextmanager
def uncached_statements() -> Iterator[list[str]]:
    """The statements run inside the block that SQLAlchemy could not cache (no cache key):
    each of those is compiled again on every call, which costs more CPU than sending it."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
               _many: bool) -> None:
        if context is not None and getattr(context, "compiled", None) is not None \
                and context.cache_hit is CacheStats.NO_CACHE_KEY:
            seen.append(" ".join(statement.split())[:120])

    with listening(Engine, "after_cursor_execute", record):
        yield seen
