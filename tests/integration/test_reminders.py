"""reminders over a real PostgreSQL: booking events plan, move and cancel a booking's
reminders, in whatever order they arrive; opting out holds them back; the dispatcher sends
each due reminder exactly once, however many dispatchers run and wherever one crashes; and
`python -m services.reminders` does it as a process."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import PermanentError
from libs.bus.memory import MemoryTransport
from libs.bus.models import InboxMessage, OutboxMessage
from libs.bus.outbox import OutboxRelay, add_to_outbox
from libs.bus.transport import Topology
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts import events as ev
from libs.contracts.envelope import Envelope
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope, parse_envelope
from libs.contracts.vocabulary import BookingStatus
from libs.runtime.definition import Wiring
from libs.runtime.host import ServiceHost
from libs.settings import Settings
from receptionist.bootstrap import full_topology
from services.reminders import scheduled
from services.reminders.definition import DEFINITION
from services.reminders.handlers import HANDLERS, RemindersDeps, prune_reminders
from services.reminders.models import Reminder, ReminderBooking, ReminderOptOut
from services.reminders.scheduled import dispatch_due, next_due, reminder_event_id
from tests import process_kit
from tests.helpers import FIXTURE_BUSINESSES, handle_envelope, orm_writes, read_back
from tests.integration import test_service_processes as processes

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=NY)  # when the first booking is confirmed
START = datetime(2026, 12, 3, 10, 0, tzinfo=NY)  # Thursday 10:00
LATER_START = datetime(2026, 12, 4, 15, 0, tzinfo=NY)
CUSTOMER = "+15555550111"
OTHER = "+15555550122"
DEPS = RemindersDeps()


@pytest.fixture
async def sessions(session_factory: Sessions) -> AsyncIterator[Sessions]:
    """Empty tables and the salon (New York; reminders 24h and 2h, quiet 21:00-08:00)."""
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    yield session_factory


def booking(kind: type[ev.BookingEvent], booking_id: uuid.UUID, starts_at: datetime = START,
            *, customer: str = CUSTOMER, **extra: Any) -> ev.BookingEvent:
    statuses: dict[type[ev.BookingEvent], BookingStatus] = {
        ev.BookingConfirmed: "confirmed", ev.BookingRescheduled: "confirmed",
        ev.BookingCancelled: "cancelled", ev.BookingExpired: "expired",
        ev.BookingCompleted: "completed", ev.BookingNoShow: "no_show"}
    if kind is ev.BookingRescheduled:
        extra.setdefault("previous_starts_at", START)
        extra.setdefault("previous_ends_at", START + timedelta(minutes=45))
    if kind is ev.BookingCancelled:
        extra.setdefault("cancelled_by", "customer")
    return kind(booking_id=booking_id, reference="R1", customer=customer, channel="sms",
                service="Haircut", starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=45), resource=1, status=statuses[kind],
                deposit_status="none", **extra)


async def deliver(sessions: Sessions, message: Message, occurred_at: datetime, *,
                  clock: SimulatedClock | None = None) -> Envelope:
    """One delivery to the reminders consumer, published at `occurred_at`."""
    envelope = make_envelope(message, business_id="salon", occurred_at=occurred_at)
    await redeliver(sessions, envelope, clock=clock)
    return envelope


async def redeliver(sessions: Sessions, envelope: Envelope, *,
                    clock: SimulatedClock | None = None) -> None:
    clock = clock or SimulatedClock(envelope.occurred_at)
    handler = HANDLERS[type(message_of(envelope))]
    await handle_envelope(handler, envelope, DEPS, sessions=sessions, clock=clock,
                          consumer="reminders")


def message_of(envelope: Envelope) -> Message:
    return read_back(envelope)


async def rows_of(sessions: Sessions, booking_id: uuid.UUID | None = None) -> list[Reminder]:
    query = select(Reminder).order_by(Reminder.starts_at, Reminder.due_at)
    if booking_id is not None:
        query = query.where(Reminder.booking_id == booking_id)
    async with sessions() as s:
        return list((await s.scalars(query)).all())


def summary(rows: list[Reminder]) -> list[tuple[datetime, str, datetime, str]]:
    """(start, offset, due, status) in New York time, for readable comparisons."""
    return [(r.starts_at.astimezone(NY), r.offset, r.due_at.astimezone(NY), r.status)
            for r in rows]


def planned(start: datetime, status: str = "pending") -> list[tuple[datetime, str, datetime,
                                                                    str]]:
    """The salon's two reminders of a start outside quiet hours' reach (elapsed time)."""
    return [(start, offset, (start.astimezone(UTC) - delta).astimezone(NY), status)
            for offset, delta in (("24h", timedelta(hours=24)), ("2h", timedelta(hours=2)))]


async def outbox(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as s:
        return list((await s.scalars(select(OutboxMessage).where(
            OutboxMessage.type == ev.ReminderDue.TYPE).order_by(OutboxMessage.id))).all())


# --- planning --------------------------------------------------------------------------------


async def test_a_confirmed_booking_gets_its_reminders(sessions: Sessions) -> None:
    b = uuid.uuid4()
    envelope = await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    rows = await rows_of(sessions, b)
    assert summary(rows) == planned(START)
    assert all((r.business_id, r.customer, r.channel, r.service) ==
               ("salon", CUSTOMER, "sms", "Haircut") for r in rows)
    # The same event again, under its own id (a redelivery: booking events take no inbox
    # row) and under a new one (a replay): nothing changes.
    again = make_envelope(message_of(envelope), business_id="salon",
                          occurred_at=envelope.occurred_at)
    for repeat in (envelope, again):
        await redeliver(sessions, repeat, clock=SimulatedClock(T0 + timedelta(hours=5)))
        assert [(r.id, r.due_at, r.status) for r in await rows_of(sessions, b)] == [
            (r.id, r.due_at, r.status) for r in rows]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(InboxMessage)) == 0
    async with sessions() as s:
        assert await next_due(s) == START - timedelta(hours=24)


async def test_what_is_past_or_too_late_after_quiet_hours_is_kept_as_skipped(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    start = datetime(2026, 12, 3, 8, 15, tzinfo=NY)  # 2h before is 6:15, quiet until 8:00
    await deliver(sessions, booking(ev.BookingConfirmed, b, start),
                  start - timedelta(hours=20))
    rows = await rows_of(sessions, b)
    assert [(r.offset, r.status, r.reason) for r in rows] == [
        ("24h", "skipped", "past_due"), ("2h", "skipped", "quiet_hours")]
    async with sessions() as s:
        assert await next_due(s) is None


async def test_a_reschedule_replaces_the_pending_reminders(sessions: Sessions) -> None:
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    await deliver(sessions, booking(ev.BookingRescheduled, b, LATER_START),
                  T0 + timedelta(hours=1))
    rows = await rows_of(sessions, b)
    assert summary(rows) == planned(START, "cancelled") + planned(LATER_START)
    assert {r.reason for r in rows if r.status == "cancelled"} == {"rescheduled"}
    # Moved back: the first start's reminders are planned again, the second's cancelled.
    await deliver(sessions, booking(ev.BookingRescheduled, b, START), T0 + timedelta(hours=2))
    assert summary(await rows_of(sessions, b)) == (planned(START)
                                                   + planned(LATER_START, "cancelled"))


async def test_offsets_the_owner_dropped_are_cancelled_when_the_booking_is_next_planned(
        sessions: Sessions) -> None:
    """The profile now asks for the 24-hour reminder only, then for none: the next event of
    the booking cancels what is no longer asked for ("replanned"), and keeps the rest."""
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    salon = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    for step, offsets in enumerate((["24h"], []), start=1):
        changed = salon.model_copy(update={"reminders": salon.reminders.model_copy(
            update={"before": [o for o in salon.reminders.before if str(o) in offsets]})})
        assert len(changed.reminders.before) == len(offsets)
        async with sessions() as s, s.begin():
            await import_profile(s, changed)
        await deliver(sessions, booking(ev.BookingRescheduled, b, START),
                      T0 + timedelta(hours=step))
        rows = await rows_of(sessions, b)
        assert [(r.offset, r.status, r.reason) for r in rows] == [
            ("24h", "pending" if offsets else "cancelled", None if offsets else "replanned"),
            ("2h", "cancelled", "replanned")]


async def test_booking_events_write_no_row_through_the_orms_bulk_path(
        sessions: Sessions) -> None:
    """Every booking event's statements run on the tables (docs/scaling.md)."""
    b = uuid.uuid4()
    with orm_writes() as written:
        await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
        await deliver(sessions, booking(ev.BookingRescheduled, b, LATER_START),
                      T0 + timedelta(hours=1))
        await deliver(sessions, booking(ev.BookingCancelled, b, LATER_START),
                      T0 + timedelta(hours=2))
    assert {r.status for r in await rows_of(sessions, b)} == {"cancelled"}
    assert written == []


async def test_a_reschedule_leaves_a_sent_reminder_sent(sessions: Sessions) -> None:
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    clock = SimulatedClock(START - timedelta(hours=23))
    assert await dispatch_due(sessions, clock, batch_size=10) == 1
    await deliver(sessions, booking(ev.BookingRescheduled, b, LATER_START), clock.now())
    assert summary(await rows_of(sessions, b)) == [
        (START, "24h", START - timedelta(hours=24), "sent"),
        (START, "2h", START - timedelta(hours=2), "cancelled"),
        *planned(LATER_START)]


@pytest.mark.parametrize("end", [ev.BookingCancelled, ev.BookingExpired, ev.BookingCompleted,
                                 ev.BookingNoShow], ids=lambda k: k.TYPE)
async def test_the_end_of_a_booking_cancels_its_reminders(
        sessions: Sessions, end: type[ev.BookingEvent]) -> None:
    b, other = uuid.uuid4(), uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    await deliver(sessions, booking(ev.BookingConfirmed, other, LATER_START), T0)
    await deliver(sessions, booking(end, b), T0 + timedelta(hours=1))
    rows = await rows_of(sessions, b)
    assert summary(rows) == planned(START, "cancelled")
    assert {r.reason for r in rows} == {booking(end, b).status}
    assert summary(await rows_of(sessions, other)) == planned(LATER_START)


# --- out of order ----------------------------------------------------------------------------


async def test_a_cancellation_handled_before_its_confirmation_leaves_nothing_pending(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    confirmed = make_envelope(booking(ev.BookingConfirmed, b), business_id="salon",
                              occurred_at=T0)
    await deliver(sessions, booking(ev.BookingCancelled, b), T0 + timedelta(minutes=5))
    await redeliver(sessions, confirmed, clock=SimulatedClock(T0 + timedelta(minutes=6)))
    assert await rows_of(sessions, b) == []
    async with sessions() as s:
        tombstone = await s.get(ReminderBooking, b)
        assert tombstone is not None and tombstone.event_type == ev.BookingCancelled.TYPE
        assert await next_due(s) is None


async def test_a_reschedule_handled_before_its_confirmation_wins(sessions: Sessions) -> None:
    b = uuid.uuid4()
    confirmed = make_envelope(booking(ev.BookingConfirmed, b), business_id="salon",
                              occurred_at=T0)
    await deliver(sessions, booking(ev.BookingRescheduled, b, LATER_START),
                  T0 + timedelta(minutes=5))
    await redeliver(sessions, confirmed, clock=SimulatedClock(T0 + timedelta(minutes=6)))
    assert summary(await rows_of(sessions, b)) == planned(LATER_START)


async def test_two_reschedules_in_either_order_end_at_the_newer_start(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    first = make_envelope(booking(ev.BookingRescheduled, b, LATER_START), business_id="salon",
                          occurred_at=T0 + timedelta(hours=1))
    newest_start = datetime(2026, 12, 5, 11, 0, tzinfo=NY)
    await deliver(sessions, booking(ev.BookingRescheduled, b, newest_start),
                  T0 + timedelta(hours=2))
    await redeliver(sessions, first)
    pending = [r for r in await rows_of(sessions, b) if r.status == "pending"]
    assert summary(pending) == planned(newest_start)


@pytest.mark.parametrize("expired_first", [True, False])
@pytest.mark.parametrize("gap", [timedelta(0), timedelta(minutes=5)], ids=["same_instant", "later"])
async def test_a_late_payment_confirms_an_expired_booking_whatever_the_order(
        sessions: Sessions, expired_first: bool, gap: timedelta) -> None:
    """Expired, then confirmed by a payment that came late: a real sequence. At the same
    instant (a simulated clock), the confirmation is still the newer of the two."""
    b = uuid.uuid4()
    expired = (booking(ev.BookingExpired, b), T0)
    confirmed = (booking(ev.BookingConfirmed, b), T0 + gap)
    for message, at in [expired, confirmed] if expired_first else [confirmed, expired]:
        await deliver(sessions, message, at)
    assert summary(await rows_of(sessions, b)) == planned(START)


# --- opting out and back in ------------------------------------------------------------------


async def test_opting_out_holds_reminders_back_and_opting_in_restores_the_future_ones(
        sessions: Sessions) -> None:
    mine, later, theirs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, mine), T0)
    await deliver(sessions, booking(ev.BookingConfirmed, theirs, customer=OTHER), T0)
    stop_at = T0 + timedelta(hours=1)
    await deliver(sessions, ev.CustomerOptedOut(customer=CUSTOMER, at=stop_at), stop_at)
    assert summary(await rows_of(sessions, mine)) == planned(START, "opted_out")
    assert summary(await rows_of(sessions, theirs)) == planned(START)
    # Booked while opted out (a payment completing, say): planned, but held back.
    await deliver(sessions, booking(ev.BookingConfirmed, later, LATER_START),
                  T0 + timedelta(hours=2))
    assert summary(await rows_of(sessions, later)) == planned(LATER_START, "opted_out")
    # Nothing goes to them when their reminders fall due.
    clock = SimulatedClock(START - timedelta(hours=23))
    assert await dispatch_due(sessions, clock, batch_size=10) == 1  # the other customer's
    [sent] = await outbox(sessions)
    assert sent.envelope["payload"]["customer"] == OTHER
    # A stale opt-in (said before the opt-out) changes nothing.
    await deliver(sessions, ev.CustomerOptedIn(customer=CUSTOMER, at=T0), T0, clock=clock)
    assert {r.status for r in await rows_of(sessions, mine)} == {"opted_out"}
    # Back in: what is still ahead is pending again; the 24h reminder, past, is not.
    start_at = clock.now()
    await deliver(sessions, ev.CustomerOptedIn(customer=CUSTOMER, at=start_at), start_at,
                  clock=clock)
    assert summary(await rows_of(sessions, mine)) == [
        (START, "24h", START - timedelta(hours=24), "opted_out"),
        (START, "2h", START - timedelta(hours=2), "pending")]
    assert summary(await rows_of(sessions, later)) == planned(LATER_START)
    async with sessions() as s:
        choice = await s.get(ReminderOptOut, ("salon", CUSTOMER))
        assert choice is not None and not choice.opted_out


async def test_an_opt_out_during_a_confirmation_leaves_nothing_pending(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two replicas: the confirmation has written its pending rows, and not committed them,
    when the opt-out is handled. The opt-out waits for it (the customer's lock) and then
    holds its reminders back too."""
    read_opt_out = asyncio.Event()
    original = add_to_outbox  # the last step inside a handler's transaction

    async def slow_commit(*args: Any) -> None:
        read_opt_out.set()
        await asyncio.sleep(0.5)  # room for the opt-out to commit, were it not locked out
        await original(*args)

    monkeypatch.setattr("libs.bus.context.add_to_outbox", slow_commit)
    b = uuid.uuid4()
    confirming = asyncio.create_task(deliver(sessions, booking(ev.BookingConfirmed, b), T0))
    await read_opt_out.wait()
    stop_at = T0 + timedelta(hours=1)
    await asyncio.gather(
        deliver(sessions, ev.CustomerOptedOut(customer=CUSTOMER, at=stop_at), stop_at),
        confirming)
    assert summary(await rows_of(sessions, b)) == planned(START, "opted_out")


async def test_an_unknown_business_is_a_permanent_error(sessions: Sessions) -> None:
    envelope = make_envelope(booking(ev.BookingConfirmed, uuid.uuid4()),
                             business_id="nowhere", occurred_at=T0)
    with pytest.raises(PermanentError, match="unknown business"):
        await redeliver(sessions, envelope)
    assert await rows_of(sessions) == []


async def test_a_cancelled_booking_stays_cancelled_after_opting_back_in(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    await deliver(sessions, ev.CustomerOptedOut(customer=CUSTOMER, at=T0), T0)
    await deliver(sessions, booking(ev.BookingCancelled, b), T0 + timedelta(hours=1))
    at = T0 + timedelta(hours=2)
    await deliver(sessions, ev.CustomerOptedIn(customer=CUSTOMER, at=at), at)
    assert summary(await rows_of(sessions, b)) == planned(START, "cancelled")


# --- the dispatcher --------------------------------------------------------------------------


async def test_due_reminders_go_to_the_outbox_once_each(sessions: Sessions) -> None:
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    clock = SimulatedClock(START - timedelta(hours=24, minutes=1))
    assert await dispatch_due(sessions, clock, batch_size=10) == 0  # not yet
    clock.set(START - timedelta(hours=24))
    assert await dispatch_due(sessions, clock, batch_size=10) == 1
    assert await dispatch_due(sessions, clock, batch_size=10) == 0
    [row] = await outbox(sessions)
    first, second = await rows_of(sessions, b)
    assert (first.status, first.sent_at, second.status) == ("sent", clock.now(), "pending")
    assert row.event_id == reminder_event_id(first.id)
    envelope = parse_envelope(json.dumps(row.envelope))  # as a consumer reads it
    reminder = message_of(envelope)
    assert reminder == ev.ReminderDue(
        booking_id=b, reminder_id=first.id, offset="24h", customer=CUSTOMER, channel="sms",
        service="Haircut", starts_at=START)
    assert (envelope.business_id, envelope.occurred_at) == ("salon", clock.now())
    async with sessions() as s:
        assert await next_due(s) == START - timedelta(hours=2)


async def test_a_reminder_whose_appointment_started_is_skipped(sessions: Sessions) -> None:
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    clock = SimulatedClock(START)  # the dispatcher was down through both reminders
    assert await dispatch_due(sessions, clock, batch_size=10) == 0
    assert [(r.status, r.reason) for r in await rows_of(sessions, b)] == [
        ("skipped", "started"), ("skipped", "started")]
    assert await outbox(sessions) == []


async def seed_due(sessions: Sessions, count: int, due_at: datetime) -> set[uuid.UUID]:
    """`count` pending reminders due at `due_at` (for a start an hour later)."""
    ids = [uuid.uuid4() for _ in range(count)]
    async with sessions() as s, s.begin():
        await s.execute(insert(Reminder), [
            {"id": i, "business_id": "salon", "booking_id": uuid.uuid4(), "customer": CUSTOMER,
             "channel": "sms", "service": "Haircut", "starts_at": due_at + timedelta(hours=1),
             "offset": "1h", "due_at": due_at - timedelta(seconds=n % 600), "status": "pending"}
            for n, i in enumerate(ids)])
    return set(ids)


def reminder_ids(rows: list[OutboxMessage]) -> list[uuid.UUID]:
    return [uuid.UUID(r.envelope["payload"]["reminder_id"]) for r in rows]


async def test_two_dispatchers_racing_send_each_reminder_exactly_once(
        sessions: Sessions) -> None:
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    ids = await seed_due(sessions, 2000, now)
    clock = SimulatedClock(now)
    sent = await asyncio.gather(dispatch_due(sessions, clock, batch_size=100),
                                dispatch_due(sessions, clock, batch_size=100))
    assert sum(sent) == 2000
    rows = await outbox(sessions)
    assert len(rows) == 2000
    assert sorted(reminder_ids(rows)) == sorted(ids)
    assert {r.event_id for r in rows} == {reminder_event_id(i) for i in ids}
    async with sessions() as s:
        statuses = dict((await s.execute(
            select(Reminder.status, func.count()).group_by(Reminder.status))).all())
    assert statuses == {"sent": 2000}


async def test_a_crash_before_the_commit_leaves_the_reminders_pending(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    ids = await seed_due(sessions, 30, now)

    def crash(*args: Any) -> Any:
        raise RuntimeError("killed between the claim and the outbox")

    monkeypatch.setattr(scheduled, "_outbox_rows", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await dispatch_due(sessions, SimulatedClock(now), batch_size=10)
    assert await outbox(sessions) == []
    assert {r.status for r in await rows_of(sessions)} == {"pending"}
    monkeypatch.undo()
    assert await dispatch_due(sessions, SimulatedClock(now), batch_size=10) == 30
    assert sorted(reminder_ids(await outbox(sessions))) == sorted(ids)


async def test_claimed_reminders_are_published_once_by_a_relay_started_later(
        sessions: Sessions) -> None:
    """The dispatcher commits the claim and the outbox rows, and the process dies before
    its relay publishes them: the next relay to run publishes each exactly once."""
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    ids = await seed_due(sessions, 250, now)
    clock = SimulatedClock(now)
    assert await dispatch_due(sessions, clock, batch_size=100) == 250
    assert all(r.published_at is None for r in await outbox(sessions))  # no relay ran
    transport = MemoryTransport(full_topology("t", (10,)))
    await transport.connect()
    await transport.declare()
    relay = OutboxRelay(sessions, transport, clock, batch_size=100)
    assert await relay.drain() == 250
    assert await relay.drain() == 0
    assert await dispatch_due(sessions, clock, batch_size=100) == 0  # nothing left to claim
    published = [json.loads(body) for key, body in transport.published
                 if key == ev.ReminderDue.TYPE]
    assert sorted(uuid.UUID(e["payload"]["reminder_id"]) for e in published) == sorted(ids)
    assert len({e["event_id"] for e in published}) == 250
    assert all(r.published_at is not None for r in await outbox(sessions))


async def test_the_definition_runs_the_dispatcher_on_each_tick(sessions: Sessions) -> None:
    """Hosted like any service: `next_due` tells the scenario clock where to stop, a tick
    at that instant sends the reminder, and the relay publishes it."""
    b = uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, b), T0)
    clock = SimulatedClock(T0)
    transport = MemoryTransport(Topology(prefix="t", retry_delays_ms=(10,)))
    await transport.connect()
    relay = OutboxRelay(sessions, transport, clock)
    host = ServiceHost(Wiring(settings=Settings(), clock=clock, sessions=sessions,
                              transport=transport, relay=relay), [DEFINITION])
    assert host.has_timers
    async with sessions() as s:
        due = await host.next_due(s)
    assert due == START - timedelta(hours=24)
    assert await host.tick() == 0
    clock.set(due)
    assert await host.tick() == 1
    assert await relay.drain() == 1
    [(key, body)] = transport.published
    assert key == ev.ReminderDue.TYPE
    assert json.loads(body)["payload"]["offset"] == "24h"


# --- upkeep ----------------------------------------------------------------------------------


async def test_prune_removes_only_old_finished_reminders(sessions: Sessions) -> None:
    done, live = uuid.uuid4(), uuid.uuid4()
    await deliver(sessions, booking(ev.BookingConfirmed, done), T0)
    await deliver(sessions, booking(ev.BookingCancelled, done), T0 + timedelta(hours=1))
    await deliver(sessions, booking(ev.BookingConfirmed, live), T0)
    await deliver(sessions, ev.CustomerOptedOut(customer=OTHER, at=T0), T0)
    await deliver(sessions, ev.CustomerOptedIn(customer="+15555550133", at=T0), T0)
    cutoff = START + timedelta(days=1)  # past every due time
    async with sessions() as s, s.begin():
        removed = await prune_reminders(s, cutoff)
    # the cancelled pair, its booking's record, and the old opt-in
    assert removed == 4
    assert summary(await rows_of(sessions)) == planned(START)  # pending: kept
    async with sessions() as s:
        assert await s.get(ReminderBooking, done) is None
        assert await s.get(ReminderBooking, live) is not None
        assert await s.get(ReminderOptOut, ("salon", OTHER)) is not None  # an opt-out stays
        assert await s.get(ReminderOptOut, ("salon", "+15555550133")) is None


# --- as a process ----------------------------------------------------------------------------


@pytest.fixture
async def harness(tmp_path: Path, database_url: str, amqp_url: str, topology: Topology,
                  sessions: Sessions) -> process_kit.Harness:
    profile = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    return process_kit.Harness(tmp_path, database_url, amqp_url, topology, sessions, profile)


async def test_the_reminders_process_plans_and_dispatches(harness: process_kit.Harness) -> None:
    """`python -m services.reminders`: a confirmation from the bus is planned, and a due
    reminder is sent and published by the process's own relay."""
    now = datetime.now(UTC)
    due_ids = await seed_due(harness.sessions, 3, now - timedelta(minutes=1))
    b = uuid.uuid4()
    start = (now + timedelta(days=5)).astimezone(NY).replace(hour=14, minute=0, second=0,
                                                             microsecond=0)
    envelope = make_envelope(booking(ev.BookingConfirmed, b, start), business_id="salon",
                             occurred_at=now)

    async def planned_and_published() -> bool:
        rows = {r.booking_id: r for r in await rows_of(harness.sessions)}
        sent = [r for r in await outbox(harness.sessions) if r.published_at is not None]
        return b in rows and len(sent) == 3

    proc = await processes.serve_one(harness, "reminders", envelope, planned_and_published,
                                     "the booking's reminders planned and 3 published")
    assert summary(await rows_of(harness.sessions, b)) == planned(start), proc.output()
    assert sorted(reminder_ids(await outbox(harness.sessions))) == sorted(due_ids)
