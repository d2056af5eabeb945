"""The delivery guarantees of DESIGN.md, over real RabbitMQ and PostgreSQL, and the same
checks over the in-memory twin so the demo and scenarios behave like production."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport, queue_state
from libs.bus.consumer import Consumer, inbox_claim
from libs.bus.context import (
    CONFLICT_RETRIES,
    Conflict,
    HandlerContext,
    PermanentError,
    derived_event_id,
    run_handler,
)
from libs.bus.memory import MemoryTransport
from libs.bus.models import InboxMessage, OutboxMessage
from libs.bus.transport import (
    DEAD_REASON_HEADER,
    ERROR_HEADER,
    Delivery,
    PublishError,
    Topology,
    Transport,
)
from libs.clock import SystemClock
from libs.contracts.commands import ReplyRequested
from libs.contracts.envelope import Envelope
from libs.contracts.events import CalendarSynced, InboundMessageReceived
from libs.contracts.registry import make_envelope
from libs.db.locks import lock_until_commit
from tests.helpers import eventually, listening, queue_drained, reply_envelope

pytestmark = pytest.mark.integration

CONSUMER = "notifier"  # any consumer bound to reply.requested.v1 serves for these tests


def synced(ctx: HandlerContext, calendar_event_id: str) -> CalendarSynced:
    """A fact for a test handler to emit, about the message it handles."""
    assert ctx.envelope is not None
    return CalendarSynced(booking_id=ctx.envelope.event_id, calendar_event_id=calendar_event_id,
                          action="inserted", synced_at=ctx.clock.now())


def claiming(sessions: async_sessionmaker[AsyncSession], env: Envelope,
             **kw: Any) -> HandlerContext:
    """A message's context, claimed by the test consumer's inbox."""
    return HandlerContext(envelope=env, sessions=sessions, clock=SystemClock(),
                          business_id="salon", claim=inbox_claim(CONSUMER, env), **kw)



class Recorder:
    """A handler whose effect is an outbox row, committed with the inbox row."""

    def __init__(self, fail_times: int = 0, *, permanent: bool = False) -> None:
        self.fail_times = fail_times
        self.permanent = permanent
        self.calls: list[str] = []

    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        self.calls.append(event.text)
        if event.text.startswith("always-fail"):  # a bug: the same input fails every time
            raise KeyError(f"no such thing in {event.text}")
        if len(self.calls) <= self.fail_times:
            if self.permanent:
                raise PermanentError("this cannot work")
            raise ConnectionError(f"transient failure #{len(self.calls)}")
        assert ctx.envelope is not None
        ctx.emit(CalendarSynced(booking_id=ctx.envelope.event_id, calendar_event_id=event.text,
                                action="inserted", synced_at=ctx.clock.now()))


@pytest.fixture(params=["amqp", "memory"])
async def transport(request: pytest.FixtureRequest, topology: Topology,
                    amqp_url: str) -> AsyncIterator[Transport]:
    t: Transport
    t = AmqpTransport(amqp_url, topology) if request.param == "amqp" else MemoryTransport(topology)
    await t.connect()
    await t.declare()
    yield t
    await t.close()


def consumer_for(handler: Recorder, transport: Transport,
                 sessions: async_sessionmaker[AsyncSession]) -> Consumer[None]:
    return Consumer(CONSUMER, {ReplyRequested.TYPE: handler}, None, session_factory=sessions,
                    transport=transport, clock=SystemClock())


async def connected(amqp_url: str, topology: Topology) -> AmqpTransport:
    """A process's own connection, with the topology declared."""
    transport = AmqpTransport(amqp_url, topology)
    await transport.connect()
    await transport.declare()
    return transport


async def consuming(transport: Transport, sessions: async_sessionmaker[AsyncSession]
                    ) -> Recorder:
    """A fresh consumer (a restarted process), one message at a time."""
    handler = Recorder()
    await consumer_for(handler, transport, sessions).start(prefetch=1)
    return handler


async def effects(sessions: async_sessionmaker[AsyncSession], text: str | None = None) -> int:
    async with sessions() as s:
        q = select(func.count()).select_from(OutboxMessage)
        if text is not None:
            q = q.where(OutboxMessage.envelope["payload"]["calendar_event_id"].astext == text)
        return int(await s.scalar(q) or 0)


async def publish(transport: Transport, text: str) -> None:
    env = reply_envelope(text)
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))


async def test_handled_once_and_effect_committed_with_inbox(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = Recorder()
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    env = reply_envelope("once")
    for _ in range(2):  # the same event delivered twice
        await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    await publish(transport, "after")
    await eventually(lambda: _has(session_factory, "after"), what="the later message")
    # Both copies may reach the handler at once (it runs before its transaction, so that
    # no lock is held across an outside call); only one commits its effect.
    assert 1 <= handler.calls.count("once") <= 2
    assert await effects(session_factory, "once") == 1
    async with session_factory() as s:
        inbox = await s.scalar(select(func.count()).select_from(InboxMessage)
                               .where(InboxMessage.event_id == env.event_id))
    assert inbox == 1


async def test_a_message_published_again_after_the_commit_changes_nothing(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    """A publisher's repeat arrives as a first delivery: the handler may run, but its
    guarded write commits nothing (a true redelivery never reaches it: the tests of a
    consumer dying before its ack, below)."""
    handler = Recorder()
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    env = reply_envelope("handled")
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    await eventually(lambda: _has(session_factory, "handled"), what="the first delivery")
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    await publish(transport, "later")
    await eventually(lambda: _has(session_factory, "later"), what="the later message")
    assert handler.calls[-1] == "later"
    assert await effects(session_factory, "handled") == 1


async def test_transient_failure_is_retried_then_succeeds(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = Recorder(fail_times=2)
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    await publish(transport, "flaky")
    await eventually(lambda: _has(session_factory, "flaky"), what="the retried message")
    assert handler.calls == ["flaky", "flaky", "flaky"]
    assert await effects(session_factory, "flaky") == 1
    assert await transport.dead_letters(CONSUMER) == []


async def test_always_failing_message_is_dead_lettered_and_queue_keeps_flowing(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession],
        caplog: pytest.LogCaptureFixture) -> None:
    handler = Recorder()
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    await publish(transport, "always-fail: private words")
    await publish(transport, "healthy")
    await eventually(lambda: _has(session_factory, "healthy"), what="the healthy message")
    dead = await _wait_dead(transport, 1)
    body, headers = dead[0]
    assert json.loads(body)["payload"]["text"] == "always-fail: private words"
    assert headers[DEAD_REASON_HEADER] == "retries_exhausted"
    assert "KeyError" in headers[ERROR_HEADER]  # the operator's dead list shows the error
    tiers = len(transport.topology.retry_delays_ms)
    assert handler.calls.count("always-fail: private words") == tiers + 1
    assert await effects(session_factory, "always-fail: private words") == 0
    assert "KeyError" in caplog.text and "private words" not in caplog.text


async def test_a_transient_failure_outlasting_every_tier_is_never_dead_lettered(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    """An outage longer than the retry tiers delays a message; it does not lose it."""
    tiers = len(transport.topology.retry_delays_ms)
    handler = Recorder(fail_times=tiers + 3)
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    await publish(transport, "through-the-outage")
    await eventually(lambda: _has(session_factory, "through-the-outage"),
                     what="the message to outlast the outage")
    assert handler.calls == ["through-the-outage"] * (tiers + 4)
    assert await transport.dead_letters(CONSUMER) == []


async def test_permanent_failure_goes_straight_to_dead(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = Recorder(fail_times=1, permanent=True)
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    await publish(transport, "doomed")
    dead = await _wait_dead(transport, 1)
    assert dead[0][1][DEAD_REASON_HEADER] == "permanent"
    assert handler.calls == ["doomed"]


@pytest.mark.parametrize("body", [
    b"not json at all",
    b'{"event_id": "nope"}',
    "unknown-version",
    "invalid-payload",
])
async def test_unreadable_message_goes_to_dead_and_consumer_keeps_running(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession],
        body: bytes | str) -> None:
    handler = Recorder()
    await consumer_for(handler, transport, session_factory).start(prefetch=10)
    raw: bytes
    if body == "unknown-version":
        env = json.loads(reply_envelope("v9").to_json())
        env["type"] = "reply.requested.v9"
        raw = json.dumps(env).encode()
    elif body == "invalid-payload":
        env = json.loads(reply_envelope("bad").to_json())
        env["payload"]["channel"] = "carrier-pigeon"
        raw = json.dumps(env).encode()
    else:
        assert isinstance(body, bytes)
        raw = body
    # Publish with a routing key the consumer is bound to, whatever the body says.
    await transport.publish(raw, ReplyRequested.TYPE, message_id="garbage")
    await publish(transport, "still-alive")
    await eventually(lambda: _has(session_factory, "still-alive"), what="the next message")
    dead = await _wait_dead(transport, 1)
    assert dead[0][0] == raw
    assert dead[0][1][DEAD_REASON_HEADER] == "invalid"
    assert handler.calls == ["still-alive"]


async def test_consumer_dying_after_commit_before_ack_is_redelivered_and_handled_once(
        amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    first = await connected(amqp_url, topology)
    handler_a = Recorder()
    consumer_a = consumer_for(handler_a, first, session_factory)
    crashes: list[asyncio.Task[None]] = []

    async def die_before_ack(delivery: Delivery) -> None:
        async def crash() -> None:  # the process is gone: its connection drops unacked
            crashes.append(asyncio.create_task(first.connection.close()))

        delivery.ack = crash  # type: ignore[method-assign]
        await consumer_a.on_delivery(delivery)

    await first.consume(CONSUMER, die_before_ack, prefetch=1)
    await publish(first, "crashy")

    async def crashed() -> bool:
        return bool(crashes) and crashes[0].done()

    await eventually(crashed, what="the first consumer to die")
    assert await effects(session_factory, "crashy") == 1  # committed before the crash

    second = await connected(amqp_url, topology)
    handler_b = await consuming(second, session_factory)
    await publish(second, "next")
    await eventually(lambda: _has(session_factory, "next"), what="the consumer to resume")
    await eventually(lambda: queue_drained(amqp_url, topology.queue(CONSUMER)),
                     what="the redelivered message to be acked")
    assert handler_b.calls == ["next"]  # the redelivery was recognised by the inbox
    assert await effects(session_factory, "crashy") == 1
    await second.close()


async def test_consumer_dying_before_commit_is_redelivered_and_handled_once(
        amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    first = await connected(amqp_url, topology)
    started = asyncio.Event()

    async def hang(delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(3600)  # mid-handler when the process dies

    await first.consume(CONSUMER, hang, prefetch=1)
    await publish(first, "interrupted")
    await asyncio.wait_for(started.wait(), timeout=15)
    await first.connection.close()

    second = await connected(amqp_url, topology)
    handler = await consuming(second, session_factory)
    await eventually(lambda: _has(session_factory, "interrupted"), what="the redelivery")
    assert handler.calls == ["interrupted"]
    assert await effects(session_factory, "interrupted") == 1
    await second.close()


async def _has(sessions: async_sessionmaker[AsyncSession], text: str) -> bool:
    return await effects(sessions, text) > 0


async def _wait_dead(transport: Transport, n: int) -> list[tuple[bytes, dict[str, Any]]]:
    seen: list[tuple[bytes, dict[str, Any]]] = []

    async def enough() -> bool:
        seen.extend(await transport.dead_letters(CONSUMER))
        return len(seen) >= n

    await eventually(enough, what=f"{n} dead-lettered message(s)")
    return seen


async def test_a_message_that_keeps_killing_its_consumer_ends_in_dead(
        amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Redelivered unacked past `x-delivery-limit`, RabbitMQ itself moves it to `.dead`."""
    transport = await connected(amqp_url, topology)
    deliveries: list[int] = []

    async def crash_every_time(delivery: Delivery) -> None:
        deliveries.append(1)
        await delivery.requeue()  # what a crashed consumer's channel does to its messages

    await transport.consume(CONSUMER, crash_every_time, prefetch=1)
    await publish(transport, "poison")
    dead = await _wait_dead(transport, 1)
    assert json.loads(dead[0][0])["payload"]["text"] == "poison"
    assert len(deliveries) == topology.delivery_limit + 1
    await transport.close()


async def test_dead_messages_are_listed_in_place_and_replayed_once_fixed(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = Recorder(fail_times=2, permanent=True)  # the bug, until the fix is deployed
    await consumer_for(handler, transport, session_factory).start(prefetch=1)
    fixable, other = reply_envelope("fixable"), reply_envelope("other")
    for env in (fixable, other):
        await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))

    async def both_dead() -> bool:
        return len(await transport.peek_dead(CONSUMER)) == 2

    await eventually(both_dead, what="two dead messages")
    letters = await transport.peek_dead(CONSUMER)  # looking twice leaves them there
    assert {letter.message_id for letter in letters} == {str(fixable.event_id),
                                                         str(other.event_id)}
    assert {(letter.routing_key, letter.reason) for letter in letters} == {
        (ReplyRequested.TYPE, "permanent")}
    assert all("this cannot work" in letter.error for letter in letters)

    assert await transport.replay_dead(CONSUMER, frozenset({str(fixable.event_id)})) == 1
    await eventually(lambda: _has(session_factory, "fixable"), what="the replayed message")
    assert handler.calls == ["fixable", "other", "fixable"]
    left = await transport.peek_dead(CONSUMER)
    assert [letter.message_id for letter in left] == [str(other.event_id)]
    assert await transport.replay_dead(CONSUMER, frozenset({"no-such-id"})) == 0
    assert await transport.replay_dead(CONSUMER) == 1
    await eventually(lambda: _has(session_factory, "other"), what="the second replay")
    assert await transport.peek_dead(CONSUMER) == []


async def test_a_message_the_broker_dead_lettered_replays_under_its_own_type(
        amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """RabbitMQ's delivery-limit move renames the routing key; the replay still delivers
    the message as the type it was published as, with no attempts counted."""
    transport = await connected(amqp_url, topology)
    await transport.consume(CONSUMER, lambda delivery: delivery.requeue(), prefetch=1)
    await publish(transport, "poison-then-fixed")

    async def dead() -> bool:
        return len(await transport.peek_dead(CONSUMER)) == 1

    await eventually(dead, what="the broker to dead-letter the message")
    [letter] = await transport.peek_dead(CONSUMER)
    assert letter.routing_key == ReplyRequested.TYPE
    assert letter.reason == "delivery-limit"
    await transport.close()

    fixed = await connected(amqp_url, topology)
    handler = await consuming(fixed, session_factory)
    assert await fixed.replay_dead(CONSUMER) == 1
    await eventually(lambda: _has(session_factory, "poison-then-fixed"), what="the replay")
    assert handler.calls == ["poison-then-fixed"]
    await fixed.close()


# --- a stateless service (nlu): no inbox, no outbox, ids derived from the message ---------


class Publishes:
    """The transport's publishes as the broker got them (refusing the first `refuse`)."""

    def __init__(self, transport: Transport, refuse: int = 0) -> None:
        self.seen: list[tuple[str, str]] = []  # (message type, message id)
        self.refuse = refuse
        self._publish = transport.publish
        transport.publish = self  # type: ignore[method-assign]

    async def __call__(self, body: bytes, routing_key: str, *, message_id: str,
                       mandatory: bool | None = None) -> None:
        if routing_key == CalendarSynced.TYPE and self.refuse > 0:
            self.refuse -= 1
            raise PublishError("the broker refused it (a test)")
        await self._publish(body, routing_key, message_id=message_id, mandatory=mandatory)
        if routing_key == CalendarSynced.TYPE:
            self.seen.append((routing_key, message_id))


class TwoFacts:
    """A stateless handler: it reads the message and emits two facts about it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        self.calls += 1
        assert ctx.envelope is not None
        for action in ("inserted", "patched"):
            ctx.emit(CalendarSynced(booking_id=ctx.envelope.event_id,
                                    calendar_event_id=event.text, action=action,
                                    synced_at=ctx.clock.now()))


def stateless_consumer(handler: Any, transport: Transport,
                       sessions: async_sessionmaker[AsyncSession]) -> Consumer[None]:
    return Consumer(CONSUMER, {ReplyRequested.TYPE: handler}, None, session_factory=sessions,
                    transport=transport, clock=SystemClock(), stateless=True)


async def _rows(sessions: async_sessionmaker[AsyncSession], event_id: Any) -> tuple[int, int]:
    async with sessions() as s:
        inbox = await s.scalar(select(func.count()).select_from(InboxMessage)
                               .where(InboxMessage.event_id == event_id))
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.envelope["causation_id"].astext == str(event_id)))
    return int(inbox or 0), int(outbox or 0)


async def test_a_stateless_service_publishes_what_it_emits_under_ids_a_repeat_keeps(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    """What it emits leaves before the ack, in order, with ids derived from the message:
    the same message handled twice publishes the same two ids (the next inbox absorbs the
    second pair), and nothing is written to the inbox or the outbox."""
    published = Publishes(transport)
    handler = TwoFacts()
    await stateless_consumer(handler, transport, session_factory).start(prefetch=1)
    env = reply_envelope("stateless")
    for _ in range(2):
        await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))

    async def both_handled() -> bool:
        return len(published.seen) == 4

    await eventually(both_handled, what="both copies to be handled")
    expected = [str(derived_event_id(env.event_id, CONSUMER, n)) for n in (0, 1)]
    assert [message_id for _, message_id in published.seen] == expected * 2
    assert handler.calls == 2
    assert await _rows(session_factory, env.event_id) == (0, 0)


async def test_a_stateless_service_retries_a_refused_publish_and_loses_nothing(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    published = Publishes(transport, refuse=1)
    handler = TwoFacts()
    await stateless_consumer(handler, transport, session_factory).start(prefetch=1)
    env = reply_envelope("refused once")
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))

    async def published_both() -> bool:
        return {m for _, m in published.seen} == {
            str(derived_event_id(env.event_id, CONSUMER, n)) for n in (0, 1)}

    await eventually(published_both, what="the retried message to publish both facts")
    assert handler.calls == 2  # the refusal was transient: handled again, not dead
    assert await transport.dead_letters(CONSUMER) == []


async def test_a_stateless_handler_has_no_transaction() -> None:
    ctx = HandlerContext(envelope=reply_envelope("x"), sessions=None,  # type: ignore[arg-type]
                         clock=SystemClock(), business_id="salon", stateless_as="nlu")
    with pytest.raises(RuntimeError, match="keeps no state"):
        async with ctx.write():
            pass


async def test_a_write_with_nothing_to_make_it_exactly_once_is_refused() -> None:
    ctx = HandlerContext(envelope=reply_envelope("x"), sessions=None,  # type: ignore[arg-type]
                         clock=SystemClock(), business_id="salon")
    with pytest.raises(RuntimeError, match="needs a guard or a claim"):
        async with ctx.write():
            pass


class LosesRaces:
    """A handler whose write loses a race `times` times (it emits, then its transaction is
    refused), then wins: it emits what the attempt saw."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        self.calls += 1
        assert ctx.envelope is not None
        async with ctx.write():
            ctx.emit(CalendarSynced(booking_id=ctx.envelope.event_id,
                                    calendar_event_id=f"attempt {self.calls}",
                                    action="inserted", synced_at=ctx.clock.now()))
            if self.calls <= self.times:
                raise Conflict("another writer committed first")


async def test_a_handler_that_lost_a_race_runs_again_at_once_with_nothing_of_the_first_try(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = LosesRaces(times=2)
    consumer = Consumer(CONSUMER, {ReplyRequested.TYPE: handler}, None,
                        session_factory=session_factory, transport=transport,
                        clock=SystemClock())
    await consumer.start(prefetch=1)
    env = reply_envelope("contended")
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    await eventually(lambda: _has(session_factory, "attempt 3"), what="the third attempt")
    assert handler.calls == 3
    assert await _rows(session_factory, env.event_id) == (1, 1)  # the winning try's only
    assert await transport.dead_letters(CONSUMER) == []


async def test_a_handler_that_keeps_losing_races_is_left_to_the_retry_tiers(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = LosesRaces(times=CONFLICT_RETRIES)
    env = reply_envelope("always contended")
    ctx = HandlerContext(envelope=env, sessions=session_factory, clock=SystemClock(),
                         business_id="salon", claim=inbox_claim(CONSUMER, env))
    with pytest.raises(RuntimeError, match="lost a race"):
        await run_handler(handler, ctx, ReplyRequested(channel="sms", to="+15555550100",
                                                       text="always contended"), None)
    assert handler.calls == CONFLICT_RETRIES
    assert ctx.emitted == []
    assert await _rows(session_factory, env.event_id) == (0, 0)


async def test_an_idempotent_write_takes_no_inbox_row_and_may_not_emit(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    env = reply_envelope("idempotent")

    async def plans(ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        async with ctx.write(idempotent=True):
            if event.text == "and tells":
                ctx.emit(CalendarSynced(booking_id=env.event_id, calendar_event_id="x",
                                        action="inserted", synced_at=ctx.clock.now()))

    for text in ("quiet", "quiet", "and tells"):
        ctx = HandlerContext(envelope=env, sessions=session_factory, clock=SystemClock(),
                             business_id="salon", claim=inbox_claim(CONSUMER, env))
        message = ReplyRequested(channel="sms", to="+15555550100", text=text)
        if text == "and tells":
            with pytest.raises(RuntimeError, match="idempotent write emitted"):
                await run_handler(plans, ctx, message, None)
        else:
            assert await run_handler(plans, ctx, message, None)  # each time: no inbox
    assert await _rows(session_factory, env.event_id) == (0, 0)


class EmitsThree:
    """Emits three facts; fails for good when its message was handled before (as a handler
    does on state its first handling changed), unless told it is the first time."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        assert ctx.envelope is not None
        async with ctx.write():
            if event.text in self.seen:
                raise PermanentError("the booking is gone: it was cancelled by this message")
            self.seen.add(event.text)
            for n in range(3):
                ctx.emit(synced(ctx, f"{event.text} {n}"))


async def test_the_inbox_row_is_claimed_with_the_outbox_rows_in_the_order_emitted(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    env = reply_envelope("ordered")
    message = ReplyRequested(channel="sms", to="+15555550100", text="ordered")

    def context() -> HandlerContext:
        return claiming(session_factory, env)

    first = context()
    assert await run_handler(EmitsThree(), first, message, None)
    assert not await run_handler(EmitsOnce(), context(), message, None)  # claimed: rolled back
    async with session_factory() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert len(first.emitted) == 3
    assert [(r.event_id, r.type, r.business_id, r.envelope) for r in rows] == [
        (e.event_id, e.type, e.business_id, e.model_dump(mode="json")) for e in first.emitted]
    assert await _rows(session_factory, env.event_id) == (1, 3)


class EmitsOnce:
    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        assert ctx.envelope is not None
        async with ctx.write():
            ctx.emit(CalendarSynced(booking_id=ctx.envelope.event_id,
                                    calendar_event_id="repeat", action="inserted",
                                    synced_at=ctx.clock.now()))


async def test_a_repeat_that_fails_on_what_it_changed_is_a_duplicate_not_a_dead_letter(
        transport: Transport, session_factory: async_sessionmaker[AsyncSession]) -> None:
    handler = EmitsThree()
    await Consumer(CONSUMER, {ReplyRequested.TYPE: handler}, None,
                   session_factory=session_factory, transport=transport,
                   clock=SystemClock()).start(prefetch=1)
    env = reply_envelope("cancel it")
    for _ in range(2):  # a publisher's repeat: a first delivery, not flagged redelivered
        await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    await publish(transport, "later")
    await eventually(lambda: _has(session_factory, "later 2"), what="the later message")
    assert await _rows(session_factory, env.event_id) == (1, 3)
    assert await transport.dead_letters(CONSUMER) == []


class WritesDirect:
    """Emits two facts in a `write_direct()` transaction, with a statement of its own."""

    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        assert ctx.envelope is not None
        async with ctx.write_direct() as db:
            await lock_until_commit(db, event.text)
            for n in range(2):
                ctx.emit(synced(ctx, f"{event.text} {n}"))


async def test_a_direct_write_is_the_same_exactly_once_transaction_as_a_sessions(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Claimed with its outbox rows; a repeat finds the claim taken and commits nothing; a
    timer's guard is made first; an idempotent one may not emit."""
    env = reply_envelope("direct")
    message = ReplyRequested(channel="sms", to="+15555550100", text="direct")

    def context(**kw: Any) -> HandlerContext:
        return HandlerContext(envelope=env, sessions=session_factory, clock=SystemClock(),
                              business_id="salon", **kw)

    assert await run_handler(WritesDirect(), claiming(session_factory, env), message, None)
    assert not await run_handler(WritesDirect(), claiming(session_factory, env), message,
                                 None)
    assert await _rows(session_factory, env.event_id) == (1, 2)
    guarded: list[bool] = []

    async def fired_already(db: Any) -> bool:
        guarded.append(True)
        return False

    assert not await run_handler(WritesDirect(), context(guard=fired_already), message, None)
    assert guarded == [True]
    idempotent = context()
    with pytest.raises(RuntimeError, match="idempotent write emitted"):
        async with idempotent.write_direct(idempotent=True):
            idempotent.emit(CalendarSynced(booking_id=env.event_id, calendar_event_id="x",
                                           action="inserted", synced_at=SystemClock().now()))
    assert await _rows(session_factory, env.event_id) == (1, 2)


_NOTE = insert(InboxMessage).values(consumer=bindparam("note_consumer"),
                                    event_id=bindparam("note_id"), type="note.v1")
"""A last write for the tests: a row of its own (any INSERT, UPDATE or DELETE will do)."""


class LeavesALastWrite:
    """Emits one fact (or none) and leaves its last write to the claim."""

    def __init__(self, *, emits: bool = True) -> None:
        self.emits = emits

    async def __call__(self, ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        assert ctx.envelope is not None
        async with ctx.write_direct():
            if self.emits:
                ctx.emit(synced(ctx, event.text))
            ctx.write_last(_NOTE, {"note_consumer": "noted", "note_id": uuid.uuid4()})


async def _noted(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(InboxMessage)
                                  .where(InboxMessage.consumer == "noted")) or 0)


async def test_a_last_write_goes_in_the_claims_statement_and_rolls_back_with_a_repeat(
        session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine) -> None:
    env = reply_envelope("last")
    message = ReplyRequested(channel="sms", to="+15555550100", text="last")
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split())[:60])

    def context() -> HandlerContext:
        return claiming(session_factory, env)

    with listening(engine.sync_engine, "before_cursor_execute", record):
        assert await run_handler(LeavesALastWrite(), context(), message, None)
    assert len(sent) == 1 and sent[0].startswith("WITH")  # the claim, the outbox, the note
    assert await _rows(session_factory, env.event_id) == (1, 1)
    assert await _noted(session_factory) == 1
    assert not await run_handler(LeavesALastWrite(), context(), message, None)  # a repeat
    assert await _noted(session_factory) == 1  # its last write rolled back with it
    quiet = reply_envelope("quiet")
    assert await run_handler(LeavesALastWrite(emits=False), claiming(session_factory, quiet),
                             message, None)  # the claim alone, with it
    assert await _noted(session_factory) == 2


async def test_a_last_write_without_a_claim_is_written_on_its_own(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """A timer's write (guarded by its mark, no claim) sends it before the outbox rows."""

    async def mark(db: Any) -> bool:
        return True

    ctx = HandlerContext(envelope=reply_envelope("timer"), sessions=session_factory,
                         clock=SystemClock(), business_id="salon", guard=mark)
    assert await run_handler(LeavesALastWrite(), ctx,
                             ReplyRequested(channel="sms", to="+15555550100", text="t"), None)
    assert await _noted(session_factory) == 1


async def test_a_last_write_is_refused_outside_a_write_and_twice(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    env = reply_envelope("misused")
    ctx = claiming(session_factory, env)
    with pytest.raises(RuntimeError, match="inside write"):
        ctx.write_last(_NOTE, {"note_consumer": "noted", "note_id": uuid.uuid4()})
    with pytest.raises(RuntimeError, match="one last write"):
        async with ctx.write_direct():
            ctx.write_last(_NOTE, {"note_consumer": "noted", "note_id": uuid.uuid4()})
            ctx.write_last(_NOTE, {"note_consumer": "noted", "note_id": uuid.uuid4()})

    async def too_late(ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        async with ctx.write_direct():
            pass
        ctx.write_last(_NOTE, {"note_consumer": "noted", "note_id": uuid.uuid4()})

    late = reply_envelope("too late")
    with pytest.raises(RuntimeError, match="after the write ended"):
        await run_handler(too_late, claiming(session_factory, late),
                          ReplyRequested(channel="sms", to="+15555550100", text="x"), None)
    assert await _noted(session_factory) == 0


async def test_a_last_write_whose_parameters_are_named_as_the_claims_is_refused(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    clashing = insert(InboxMessage).values(consumer=bindparam("consumer"),
                                           event_id=bindparam("note_id"), type="note.v1")

    async def clashes(ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
        async with ctx.write_direct():
            ctx.write_last(clashing, {"consumer": "noted", "note_id": uuid.uuid4()})

    env = reply_envelope("clashing")
    with pytest.raises(ValueError, match="named as the claim's"):
        await run_handler(clashes, claiming(session_factory, env),
                          ReplyRequested(channel="sms", to="+15555550100", text="x"), None)
    assert await _rows(session_factory, env.event_id) == (0, 0)


# --- a message type a service no longer consumes ---------------------------------------------


def inbound_envelope(text: str) -> Envelope:
    return make_envelope(InboundMessageReceived(
        channel="whatsapp", provider_message_id=f"wamid.{uuid.uuid4().hex}",
        customer="+15555550100", to="109876543210001", text=text,
        received_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC)), business_id="salon",
        occurred_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC))


async def _ready(amqp_url: str, queue: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        ready, _consumers = await queue_state(connection, queue)
    return ready


async def test_a_retired_type_is_unbound_when_declared_and_one_left_queued_is_acked(
        amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """A queue declared by an earlier release keeps that release's bindings: declaring it
    again unbinds what the service retired (and unbinding twice is no error), and a message
    of that type queued before is acked with a log line, not dead-lettered as unhandled."""
    retired = InboundMessageReceived.TYPE
    before = await connected(amqp_url, replace(topology, retired={}, bindings={
        **topology.bindings, CONSUMER: topology.bindings[CONSUMER] | {retired}}))
    await before.publish(inbound_envelope("queued before").to_json(), retired,
                         message_id=str(uuid.uuid4()))
    await before.close()
    now = await connected(amqp_url, replace(topology, retired={CONSUMER: frozenset({retired})}))
    try:
        await now.declare()  # again: nothing left to unbind
        await now.publish(inbound_envelope("after").to_json(), retired,
                          message_id=str(uuid.uuid4()))
        assert await _ready(amqp_url, topology.queue(CONSUMER)) == 1  # only the one before
        handler = Recorder()
        await Consumer(CONSUMER, {ReplyRequested.TYPE: handler}, None,
                       session_factory=session_factory, transport=now, clock=SystemClock(),
                       retired=frozenset({retired})).start(prefetch=1)
        await publish(now, "a reply after it")
        async def handled() -> bool:
            return handler.calls == ["a reply after it"]

        await eventually(handled, what="the reply after the retired message handled")
        assert await _ready(amqp_url, topology.queue(CONSUMER)) == 0
        assert await _ready(amqp_url, topology.dead_queue(CONSUMER)) == 0
    finally:
        await now.close()
