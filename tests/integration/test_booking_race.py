"""No double booking under a real race: three fsm consumers over RabbitMQ, 50 customers
accepting the same slot at capacity 2. Exactly 2 bookings; 48 customers hear "just taken"
with other times; no handler error reaches a dead-letter queue. And the lost race made
certain: a rival commits between a turn's read and its write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Topology
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import BookingConfirmed, BookingHeld, MessageUnderstood, Slots
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from libs.contracts.vocabulary import Intent
from libs.runtime.definition import Wiring
from libs.runtime.host import ServiceHost
from libs.settings import get_settings
from receptionist.bootstrap import definition
from services.fsm import machine as m
from services.fsm.handlers import FsmDeps, on_message_understood
from services.fsm.models import Booking, Conversation, Customer
from services.fsm.turns import Turn
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.handlers import NotifierDeps
from tests.helpers import FIXTURE_BUSINESSES, eventually, handle

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")
CUSTOMERS = [f"+1555556{i:04d}" for i in range(50)]
FSM_REPLICAS = 3


@pytest.fixture
async def replicas(amqp_url: str, topology: Topology,
                   session_factory: async_sessionmaker[AsyncSession]
                   ) -> AsyncIterator[tuple[AmqpTransport, RecordingChannel, SimulatedClock]]:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    clock = SimulatedClock(datetime(2026, 12, 1, 9, 0, tzinfo=NY))
    channel = RecordingChannel()
    hosts: list[ServiceHost] = []
    for i in range(FSM_REPLICAS + 1):  # three fsm processes and one notifier
        t = AmqpTransport(amqp_url, topology)
        await t.connect()
        await t.declare()
        wiring = Wiring(settings=get_settings(), clock=clock, sessions=session_factory,
                        transport=t,
                        relay=OutboxRelay(session_factory, t, clock, poll_interval_s=0.05))
        host = (ServiceHost(wiring, [definition("fsm")]) if i < FSM_REPLICAS else
                ServiceHost(wiring, [definition("notifier")],
                            overrides={"notifier": NotifierDeps(channel)}))
        await host.start(prefetch=20)
        hosts.append(host)
    yield hosts[0].wiring.transport, channel, clock  # type: ignore[misc]
    for host in hosts:
        await host.stop()
        await host.wiring.transport.close()


async def say(transport: AmqpTransport, customer: str, intent: Intent, **slots: object) -> None:
    event = MessageUnderstood(
        channel="sms", provider_message_id=uuid.uuid4().hex, customer=customer,
        text=intent, received_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC), intent=intent,
        slots=Slots.model_validate(slots), confidence=1.0, extractor="test")
    envelope = make_envelope(event, business_id="salon", occurred_at=event.received_at)
    await transport.publish(envelope.to_json(), envelope.type, message_id=str(envelope.event_id))


async def test_fifty_customers_one_slot_capacity_two(
        replicas: tuple[AmqpTransport, RecordingChannel, SimulatedClock],
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    transport, channel, _ = replicas
    await asyncio.gather(*(say(transport, c, "book", service="Haircut", date=date(2026, 12, 2),
                               time=time(15)) for c in CUSTOMERS))

    async def all_proposed() -> bool:
        return len(channel.sent) >= len(CUSTOMERS)

    await eventually(all_proposed, within_s=60, what="50 proposals")
    assert all("3:00 PM" in msg.text for msg in channel.sent)

    await asyncio.gather(*(say(transport, c, "affirm") for c in CUSTOMERS))

    async def all_answered() -> bool:
        return len(channel.sent) >= 2 * len(CUSTOMERS)

    await eventually(all_answered, within_s=60, what="50 answers to yes")
    answers = channel.sent[len(CUSTOMERS):]
    assert sorted({m.to for m in answers}) == sorted(CUSTOMERS)  # one answer each
    confirmed = [m for m in answers if "confirmed" in m.text]
    taken = [m for m in answers if "just taken" in m.text]
    assert len(confirmed) == 2
    assert len(taken) == 48
    assert all("2:15 PM" in m.text and "3:45 PM" in m.text for m in taken)

    async with session_factory() as s:
        bookings = (await s.scalars(select(Booking))).all()
        collecting = await s.scalar(select(func.count()).select_from(Conversation)
                                    .where(Conversation.state == "COLLECTING"))
    assert len(bookings) == 2
    assert {b.resource for b in bookings} == {1, 2}
    assert collecting == 48
    assert await transport.dead_letters("fsm") == []


async def test_a_turn_that_read_before_a_rivals_commit_runs_again_and_says_taken(
        session_factory: async_sessionmaker[AsyncSession],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic: both chairs are booked by others after the turn read the calendar and
    before it wrote. The exclusion constraint refuses its booking, the turn rolls back whole
    (`Conflict`) and runs again on fresh data: one answer, "just taken", nothing of the
    first try left behind."""
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    clock = SimulatedClock(datetime(2026, 12, 1, 9, 0, tzinfo=NY))
    customer = "+15555560001"

    async def understood(intent: Intent, **slots: object) -> list[Message]:
        event = MessageUnderstood(
            channel="sms", provider_message_id=uuid.uuid4().hex, customer=customer,
            text=intent, received_at=clock.now(), intent=intent,
            slots=Slots.model_validate(slots), confidence=1.0, extractor="test")
        return await handle(on_message_understood, event, FsmDeps(),
                            sessions=session_factory, clock=clock, consumer="fsm")

    await understood("book", service="Haircut", date=date(2026, 12, 2), time=time(15))
    start = datetime(2026, 12, 2, 15, 0, tzinfo=NY)
    reads = 0
    world = Turn.world

    async def rivals_commit_after_the_first_read(turn: Turn) -> m.World:
        nonlocal reads
        reads += 1
        seen = await world(turn)
        if reads == 1:
            async with session_factory() as s, s.begin():
                for chair in (1, 2):
                    rival = Customer(business_id="salon", address=f"+1555556990{chair}")
                    s.add(rival)
                    await s.flush()
                    s.add(Booking(reference=f"RIVAL{chair}", business_id="salon",
                                  customer_id=rival.id, service="Haircut", resource=chair,
                                  starts_at=start, ends_at=start + timedelta(minutes=45),
                                  status="confirmed"))
        return seen

    monkeypatch.setattr(Turn, "world", rivals_commit_after_the_first_read)
    emitted = await understood("affirm")

    assert reads == 2
    replies = [e for e in emitted if isinstance(e, ReplyRequested)]
    assert len(replies) == 1 and "just taken" in replies[0].text
    assert not [e for e in emitted if isinstance(e, BookingHeld | BookingConfirmed)]
    async with session_factory() as s:
        mine = (await s.scalars(select(Booking).join(Customer).where(
            Customer.address == customer))).all()
        state = await s.scalar(select(Conversation.state).join(Customer).where(
            Customer.address == customer))
    assert mine == []
    assert state == "COLLECTING"
