"""Opening a turn over real PostgreSQL: a first message creates the customer and their
conversation in one statement, however the first messages race; a customer known without a
conversation gets one; a web visitor's bookings of the day are read with the opening."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.bus.context import HandlerContext
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import MessageUnderstood, Slots
from libs.contracts.message import Message
from libs.contracts.vocabulary import Channel, Intent
from services.fsm import machine as m
from services.fsm.effects import apply
from services.fsm.handlers import FsmDeps, on_message_understood
from services.fsm.models import Booking, Conversation, Customer
from services.fsm.staff import mark_booking
from services.fsm.turns import open_turn
from tests.helpers import (
    FIXTURE_BUSINESSES,
    handle,
    listening,
    uncached_statements,
    unit_of_work_rows,
)

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")


@pytest.fixture
async def salon(session_factory: async_sessionmaker[AsyncSession]) -> SimulatedClock:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    return SimulatedClock(datetime(2026, 12, 1, 9, 0, tzinfo=NY))


async def understood(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock,
                     customer: str, intent: Intent = "greeting", *,
                     channel: Channel = "whatsapp",
                     received_at: datetime | None = None) -> list[Message]:
    event = MessageUnderstood(
        channel=channel, provider_message_id=uuid.uuid4().hex, customer=customer,
        text=intent, received_at=received_at or clock.now(), intent=intent, slots=Slots(),
        confidence=1.0, extractor="test")
    return await handle(on_message_understood, event, FsmDeps(), sessions=sessions,
                        clock=clock, consumer="fsm")


async def rows_of(sessions: async_sessionmaker[AsyncSession], customer: str) -> tuple[int, int]:
    async with sessions() as s:
        customers = await s.scalar(select(func.count()).select_from(Customer)
                                   .where(Customer.address == customer))
        conversations = await s.scalar(
            select(func.count()).select_from(Conversation).join(Customer)
            .where(Customer.address == customer))
    return int(customers or 0), int(conversations or 0)


async def test_first_messages_racing_create_one_customer_and_one_conversation(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    customer = "+15555570001"
    answers = await asyncio.gather(*(understood(session_factory, salon, customer)
                                     for _ in range(4)))
    assert await rows_of(session_factory, customer) == (1, 1)
    for emitted in answers:  # each message was answered, on the channel it came from
        replies = [e for e in emitted if isinstance(e, ReplyRequested)]
        assert len(replies) == 1 and replies[0].channel == "whatsapp"


async def test_a_whatsapp_reply_carries_when_the_customer_last_wrote_there(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    """notifier keeps WhatsApp's 24-hour window by what each reply carries: the latest
    WhatsApp message's received time (not when fsm handled it), never moved back by an
    older message handled late, and not by a message on another channel."""
    customer = "+15555570009"

    def carried(emitted: list[Message]) -> list[tuple[str, datetime | None]]:
        return [(e.channel, e.customer_wrote_at) for e in emitted
                if isinstance(e, ReplyRequested)]

    wrote = salon.now() - timedelta(minutes=3)  # received a while before it was handled
    assert carried(await understood(session_factory, salon, customer,
                                    received_at=wrote)) == [("whatsapp", wrote)]
    late = await understood(session_factory, salon, customer,
                            received_at=wrote - timedelta(hours=5))
    assert carried(late) == [("whatsapp", wrote)]
    salon.advance(timedelta(hours=1))
    by_sms = await understood(session_factory, salon, customer, channel="sms")
    assert carried(by_sms) == [("sms", None)]  # SMS has no window to keep
    back = await understood(session_factory, salon, customer,
                            received_at=salon.now() - timedelta(hours=30))
    assert carried(back) == [("whatsapp", wrote)]  # still the latest WhatsApp message


async def test_a_customer_known_without_a_conversation_gets_one(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    customer = "+15555570002"
    async with session_factory() as s, s.begin():
        s.add(Customer(business_id="salon", address=customer, language="es"))
    emitted = await understood(session_factory, salon, customer)
    assert await rows_of(session_factory, customer) == (1, 1)
    assert [type(e) for e in emitted] == [ReplyRequested]
    async with session_factory() as s:
        language = await s.scalar(select(Customer.language).where(
            Customer.address == customer))
    assert language == "es"  # the customer row already there is the one used


async def test_a_web_visitors_turn_counts_what_was_booked_today_from_their_address(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    """Read with the turn's opening: the bookings of the last day made from the address the
    message came from (any session), else from the one kept for the visitor, else their own;
    nothing for a customer who is not a web visitor."""
    now = salon.now()
    slots = iter(range(100))  # each booking an hour of its own
    async with session_factory() as s, s.begin():
        for address, origin, made in (("web:one", "ip-a", [now - timedelta(hours=2)] * 2),
                                      ("web:two", "ip-a", [now - timedelta(days=2)]),
                                      ("web:three", None, [now - timedelta(hours=1)]),
                                      ("web:four", "ip-b", [now - timedelta(hours=3)])):
            customer = Customer(business_id="salon", address=address, origin=origin)
            s.add(customer)
            await s.flush()
            s.add(Conversation(customer_id=customer.id, business_id="salon", channel="web"))
            for n, created in enumerate(made):
                start = now + timedelta(days=3, hours=next(slots))
                s.add(Booking(reference=f"{address[4:]}{n}".upper(), business_id="salon",
                              customer_id=customer.id, service="Haircut", resource=1,
                              starts_at=start, ends_at=start + timedelta(minutes=45),
                              status="confirmed", created_at=created))

    async def made_today(address: str, *, said: bool = True,
                         origin: str | None = None) -> int | None:
        ctx = HandlerContext(envelope=None, sessions=session_factory, clock=salon,
                             business_id="salon")
        async with session_factory() as s, s.begin():
            turn = await open_turn(s, ctx, address, "web", customer_said=said,
                                   web_origin=origin)
            return turn.made_today

    assert await made_today("web:new", origin="ip-a") == 2  # a new session, the same address
    assert await made_today("web:two") == 2          # its kept address: ip-a
    assert await made_today("web:two", origin="ip-b") == 1
    assert await made_today("web:three") == 1        # no address known: their own
    assert await made_today("web:three", said=False) is None  # not their message: not read
    assert await made_today("+15555570003") is None  # not a web visitor


async def book_and_cancel(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock,
                          customer: str, channels: tuple[Channel, ...] = ("sms",)) -> None:
    """Book, change the time, confirm, cancel, confirm: five turns, written from `channels`
    in turn; the whole conversation ran (the booking is cancelled)."""
    day = clock.now() + timedelta(days=1)
    said: list[tuple[Intent, Slots]] = [
        ("book", Slots(service="Haircut", date=day.date(), time=time(10))),
        ("book", Slots(time=time(11))), ("affirm", Slots()), ("cancel", Slots()),
        ("affirm", Slots())]
    for n, (intent, slots) in enumerate(said):
        event = MessageUnderstood(
            channel=channels[n % len(channels)], provider_message_id=uuid.uuid4().hex,
            customer=customer, text=intent, received_at=clock.now(), intent=intent,
            slots=slots, confidence=1.0, extractor="test")
        await handle(on_message_understood, event, FsmDeps(), sessions=sessions, clock=clock,
                     consumer="fsm")
    async with sessions() as s:
        statuses = (await s.scalars(select(Booking.status).join(Customer)
                                    .where(Customer.address == customer))).all()
    assert statuses == ["cancelled"]


async def test_every_statement_of_a_conversation_is_compiled_once(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    """Book, change the time, confirm, cancel: no statement is without a cache key. One
    without (a multi-row VALUES, for one) is compiled again on every call, as the timers'
    upsert was on most turns (docs/scaling.md, "What a statement costs in Python")."""
    with uncached_statements() as uncached:
        await book_and_cancel(session_factory, salon, "+15555570004")
    assert uncached == []


async def test_a_turn_writes_its_conversation_without_the_orms_unit_of_work(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    """Every turn writes the conversation row, on its table: through the ORM's unit of work
    the flush cost more CPU than the UPDATE it sent (docs/scaling.md, "The ORM's unit of
    work"). So does the booking the conversation makes, confirms and cancels
    (`services.fsm.bookings`): nothing is flushed. The row is as the last turn left it: the
    channel the customer last wrote on, the state, the time of their message."""
    customer = "+15555570007"
    with unit_of_work_rows() as flushed:
        await book_and_cancel(session_factory, salon, customer, channels=("whatsapp", "sms"))
    assert flushed == []
    async with session_factory() as s:
        row = (await s.execute(select(Conversation).join(Customer)
                               .where(Customer.address == customer))).scalar_one()
    assert (row.channel, row.state) == ("whatsapp", "IDLE")  # the fifth turn's channel
    assert row.last_customer_message_at == row.updated_at == salon.now()


async def test_the_world_reads_bookings_without_loading_them(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    """Every live booking of the business comes back on every turn: read as columns, none is
    loaded into the session (loading each cost several times reading it); the customer's
    own are seen all the same."""
    now = salon.now()
    async with session_factory() as s, s.begin():
        someone, me = (Customer(business_id="salon", address=a)
                       for a in ("+15555570005", "+15555570006"))
        s.add_all([someone, me])
        await s.flush()
        s.add(Conversation(customer_id=me.id, business_id="salon", channel="sms"))
        for who, hours, reference in ((someone, 26, "THEIRS"), (me, 28, "MINE")):
            start = now + timedelta(hours=hours)
            s.add(Booking(reference=reference, business_id="salon", customer_id=who.id,
                          service="Haircut", resource=1, starts_at=start,
                          ends_at=start + timedelta(minutes=45), status="confirmed"))
    ctx = HandlerContext(envelope=None, sessions=session_factory, clock=salon,
                         business_id="salon")
    loaded: list[str] = []

    def on_load(booking: Booking, _context: object) -> None:
        loaded.append(booking.reference)

    with listening(Booking, "load", on_load):
        async with session_factory() as s, s.begin():
            turn = await open_turn(s, ctx, "+15555570006", "sms")
            world = await turn.world()
    assert len(world.busy) == 2
    assert [b.reference for b in world.bookings] == ["MINE"]
    assert loaded == []


async def test_a_turn_adds_to_the_customers_record_what_staff_added_meanwhile_stays(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    """The turn's customer is read at its opening; staff marking one of their bookings
    completed commits before the turn writes. The turn writes its own change to the record
    as an increment, so staff's is kept; the customer's choices are written as they are."""
    customer = "+15555570008"
    now = salon.now()
    async with session_factory() as s, s.begin():
        row = Customer(business_id="salon", address=customer)
        s.add(row)
        await s.flush()
        s.add(Conversation(customer_id=row.id, business_id="salon", channel="sms"))
        start = now - timedelta(hours=3)
        s.add(Booking(reference="PASTONE", business_id="salon", customer_id=row.id,
                      service="Haircut", resource=1, starts_at=start,
                      ends_at=start + timedelta(minutes=45), status="confirmed"))
    ctx = HandlerContext(envelope=None, sessions=session_factory, clock=salon,
                         business_id="salon")
    async with session_factory() as s, s.begin():
        turn = await open_turn(s, ctx, customer, "sms")
        async with session_factory() as staff, staff.begin():
            await mark_booking(staff, "PASTONE", "completed", now)
        turn.customer.kept += 1  # as the turn's own effect would (`complete_booking`)
        turn.customer.language = "es"
        await apply(turn, m.Outcome(turn.conversation))
    async with session_factory() as s:
        found = (await s.scalars(select(Customer).where(Customer.address == customer))).one()
    assert (found.kept, found.language) == (2, "es")


async def test_a_customers_turn_writes_its_conversation_in_the_claims_statement(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock,
        engine: AsyncEngine) -> None:
    """The turn is the handler's last work: its conversation goes with the inbox claim and
    the outbox rows (`HandlerContext.write_last`), one round trip fewer."""
    await understood(session_factory, salon, "+15555570008")  # the first: creates the rows
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    with listening(engine.sync_engine, "before_cursor_execute", record):
        await understood(session_factory, salon, "+15555570008", "book")
    assert not any(s.startswith("UPDATE conversations") for s in sent)
    assert "UPDATE conversations" in sent[-1] and "INSERT INTO inbox" in sent[-1]
    async with session_factory() as s:
        state = await s.scalar(select(Conversation.state).join(Customer)
                               .where(Customer.address == "+15555570008"))
    assert state != "IDLE"  # asked what to book: the turn's state was written
