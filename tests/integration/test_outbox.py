"""The outbox relay publishes exactly the committed rows, once each, even with two relays."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import aio_pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport
from libs.bus.models import OutboxMessage
from libs.bus.outbox import OutboxRelay, add_to_outbox
from libs.bus.transport import Topology
from libs.clock import SystemClock
from libs.contracts.envelope import Envelope
from libs.contracts.registry import types_published_by
from libs.db.direct import engine_of
from tests.helpers import eventually, listening, reply_envelope

pytestmark = pytest.mark.integration


async def _received(amqp_url: str, queue: str) -> list[str]:
    """Drain a queue, returning the message ids in arrival order."""
    ids: list[str] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.get_queue(queue)
        while (message := await q.get(no_ack=True, fail=False)) is not None:
            ids.append(str(message.message_id))
    return ids


async def _commit(sessions: async_sessionmaker[AsyncSession], envelopes: list[Envelope]) -> None:
    """Outbox rows committed as a handler's write commits them."""
    async with sessions() as s, s.begin():
        await add_to_outbox(s, envelopes)


def _refusing(topology: Topology, amqp_url: str,
              sessions: async_sessionmaker[AsyncSession]) -> OutboxRelay:
    """A relay whose broker refuses everything: its transport never connected."""
    return OutboxRelay(sessions, AmqpTransport(amqp_url, topology), SystemClock())


async def test_relay_publishes_exactly_the_committed_rows(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    committed = [reply_envelope(f"c{i}") for i in range(5)]
    await _commit(session_factory, committed)
    rolled_back = reply_envelope("rolled back")
    async with session_factory() as s, s.begin():
        await add_to_outbox(s, [rolled_back])
        await s.flush()
        await s.rollback()

    pending = reply_envelope("not yet committed")
    async with session_factory() as open_tx:
        await open_tx.begin()
        await add_to_outbox(open_tx, [pending])
        await open_tx.flush()  # written but not committed while the relay runs

        relay = OutboxRelay(session_factory, amqp_transport, SystemClock())
        assert await relay.drain() == 5
        await open_tx.rollback()

    ids = await _received(amqp_url, topology.queue("notifier"))
    assert ids == [str(e.event_id) for e in committed]  # in commit order, nothing else
    async with session_factory() as s:
        unpublished = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.published_at.is_(None)))
    assert unpublished == 0


async def test_two_relays_publish_each_row_once(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    envelopes = [reply_envelope(f"m{i}", event_id=uuid.uuid4()) for i in range(300)]
    await _commit(session_factory, envelopes)

    second = AmqpTransport(amqp_url, topology)
    await second.connect()
    relays = [OutboxRelay(session_factory, t, SystemClock(), batch_size=20, poll_interval_s=0.05,
                          leftover_after_s=0)  # rows nobody handed over: found by the poll
              for t in (amqp_transport, second)]
    tasks = [asyncio.create_task(r.run()) for r in relays]

    async def all_published() -> bool:
        async with session_factory() as s:
            left = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.published_at.is_(None)))
        return left == 0

    await eventually(all_published, what="every outbox row to be published")
    for r in relays:
        r.stop()
    await asyncio.gather(*tasks)
    await second.close()

    counts = Counter(await _received(amqp_url, topology.queue("notifier")))
    assert set(counts) == {str(e.event_id) for e in envelopes}
    assert max(counts.values()) == 1


async def test_unconfirmed_publish_keeps_the_row_for_later(
        topology: Topology, amqp_url: str,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    envelope = reply_envelope("broker down")
    await _commit(session_factory, [envelope])
    assert await _refusing(topology, amqp_url, session_factory).publish_pending() == 0
    async with session_factory() as s:
        row = (await s.scalars(select(OutboxMessage))).one()
    assert row.published_at is None
    assert row.attempts == 1
    assert row.last_error is not None and "not connected" in row.last_error


async def test_each_service_relay_publishes_only_what_that_service_may_publish(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """fsm's rows wait for fsm's relay: another service's broker user may not write them."""
    replies = [reply_envelope(f"r{i}") for i in range(3)]  # reply.requested: fsm's
    await _commit(session_factory, replies)
    payments = OutboxRelay(session_factory, amqp_transport, SystemClock(),
                           types=types_published_by(["payments"]))
    assert await payments.drain() == 0
    fsm = OutboxRelay(session_factory, amqp_transport, SystemClock(),
                      types=types_published_by(["fsm"]))
    assert await fsm.drain() == 3
    ids = await _received(amqp_url, topology.queue("notifier"))
    assert ids == [str(e.event_id) for e in replies]


async def _unpublished(sessions: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessions() as s:
        return set((await s.scalars(select(OutboxMessage.event_id)
                                    .where(OutboxMessage.published_at.is_(None)))).all())


async def test_rows_handed_over_leave_from_memory_and_are_marked_together(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """What a consumer committed and handed over is published in the order handed, and
    stamped sent a moment later; a young row nobody handed over is left to its own process
    by the periodic poll, and found at once after a nudge."""
    handed = [reply_envelope(f"h{i}") for i in range(3)]
    not_handed = reply_envelope("written by admin")
    await _commit(session_factory, [*handed, not_handed])
    relay = OutboxRelay(session_factory, amqp_transport, SystemClock(), poll_interval_s=0.05,
                        mark_interval_s=0.1, leftover_after_s=60)
    running = asyncio.create_task(relay.run())
    relay.submit(handed)

    async def marked() -> bool:
        return await _unpublished(session_factory) == {not_handed.event_id}

    await eventually(marked, what="the handed rows to be stamped sent")
    assert await _received(amqp_url, topology.queue("notifier")) == [
        str(e.event_id) for e in handed]  # the poll left the young row alone
    relay.nudge()

    async def found() -> bool:
        return not await _unpublished(session_factory)

    await eventually(found, what="the nudged poll to publish the row nobody handed over")
    relay.stop()
    await running
    assert await _received(amqp_url, topology.queue("notifier")) == [str(not_handed.event_id)]


async def test_a_handed_row_the_broker_refused_is_found_by_the_poll(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    envelope = reply_envelope("refused when handed")
    await _commit(session_factory, [envelope])
    refusing = _refusing(topology, amqp_url, session_factory)
    refusing.submit([envelope])
    assert await refusing.publish_handed() == 0
    assert await refusing.mark_published() == 0
    assert await _unpublished(session_factory) == {envelope.event_id}
    later = OutboxRelay(session_factory, amqp_transport, SystemClock(), leftover_after_s=0)
    assert await later.publish_pending(leftovers_only=True) == 1
    assert await _received(amqp_url, topology.queue("notifier")) == [str(envelope.event_id)]
    assert not await _unpublished(session_factory)


async def test_a_poll_that_finds_nothing_is_one_statement_outside_a_transaction(
        amqp_transport: AmqpTransport, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Every process polls every second: when nothing is left over (a young row, a row this
    process holds in memory, a row of a type it does not publish), the poll is one
    statement, not a locking transaction. A leftover is still found."""
    young, handed = reply_envelope("young"), reply_envelope("handed over")
    await _commit(session_factory, [young, handed])
    relay = OutboxRelay(session_factory, amqp_transport, SystemClock(), leftover_after_s=60,
                        types=types_published_by(["fsm"]))
    relay.submit([handed])
    others = OutboxRelay(session_factory, amqp_transport, SystemClock(), leftover_after_s=0,
                         types=types_published_by(["payments"]))
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement.split("\n")[0])

    engine = engine_of(session_factory)
    with listening(engine.sync_engine, "before_cursor_execute", count):
        assert await relay.publish_pending(leftovers_only=True) == 0
        assert await others.publish_pending(leftovers_only=True) == 0
    assert sent == ["SELECT EXISTS (SELECT * ", "SELECT EXISTS (SELECT * "]
    assert await _unpublished(session_factory) == {young.event_id, handed.event_id}

    leftover = OutboxRelay(session_factory, amqp_transport, SystemClock(), leftover_after_s=0,
                           types=types_published_by(["fsm"]))
    assert await leftover.publish_pending(leftovers_only=True) == 2
    assert not await _unpublished(session_factory)
