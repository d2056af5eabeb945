"""The calendar service over real PostgreSQL, with Google Calendar played by the client's own
`HttpMockSequence` (tests/calendar_kit.py): the exact requests for insert, patch and delete,
redeliveries and events out of order, a revoked credential dead-lettered (and reported once),
a rate limit waited out, the busy import published once per change and fsm then refusing
the blocked time, and the service switched off without Google (no queue, said once)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import PermanentError
from libs.bus.memory import MemoryTransport
from libs.bus.models import InboxMessage, OutboxMessage
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import DEAD_REASON_HEADER, Topology
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts import events as ev
from libs.contracts.commands import ReplyRequested
from libs.contracts.envelope import Envelope
from libs.contracts.registry import make_envelope, parse_envelope
from libs.contracts.vocabulary import BookingStatus
from libs.db.session import async_url
from libs.runtime.definition import Wiring, bindings_of
from libs.runtime.host import ServiceHost
from libs.settings import Settings
from receptionist.bootstrap import DEFINITIONS, compose, full_topology
from services.calendar import rules
from services.calendar.definition import DEFINITION as CALENDAR, OFF_NOTE
from services.calendar.handlers import CalendarDeps, Superseded, on_booking_event
from services.calendar.models import CalendarBooking, CalendarBusy
from services.calendar.scheduled import next_due, poll_busy
from services.fsm.handlers import FsmDeps, on_calendar_busy_changed, on_message_understood
from services.fsm.models import BlockedTime, Conversation
from tests import process_kit
from tests.calendar_kit import (
    CALENDAR_ID,
    FREEBUSY_URI,
    NO_CONTENT,
    OK,
    Request,
    Script,
    Sleeps,
    busy_answer,
    calendar_api,
    delete_uri,
    error,
    events_uri,
)
from tests.helpers import FIXTURE_BUSINESSES, eventually, handle, handle_envelope
from tests.integration import test_service_processes as processes

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tue 9:00 AM in New York
START = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # Wed 3:00 PM in New York
END = START + timedelta(minutes=45)
CUSTOMER = "+12125550123"
GOOGLE_ON = Settings(google_service_account_path="/run/secrets/google.json",
                     google_calendar_id=CALENDAR_ID)


@pytest.fixture
async def sessions(session_factory: Sessions) -> AsyncIterator[Sessions]:
    """Empty tables and the salon (New York, two chairs), its profile naming no calendar:
    the deployment's default (`GOOGLE_CALENDAR_ID`) is used."""
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    yield session_factory


def deps(script: Script, sleeps: Sleeps | None = None) -> CalendarDeps:
    return CalendarDeps(api=calendar_api(script, sleeps), default_calendar_id=CALENDAR_ID,
                        poll_every=timedelta(minutes=5))


def booking(kind: type[ev.BookingEvent], booking_id: uuid.UUID, starts_at: datetime = START,
            **extra: Any) -> ev.BookingEvent:
    statuses: dict[type[ev.BookingEvent], BookingStatus] = {
        ev.BookingConfirmed: "confirmed", ev.BookingRescheduled: "confirmed",
        ev.BookingCancelled: "cancelled", ev.BookingExpired: "expired",
        ev.BookingCompleted: "completed", ev.BookingNoShow: "no_show"}
    if kind is ev.BookingRescheduled:
        extra.setdefault("previous_starts_at", START)
        extra.setdefault("previous_ends_at", END)
    if kind is ev.BookingCancelled:
        extra.setdefault("cancelled_by", "customer")
    return kind(booking_id=booking_id, reference="ABC123", customer=CUSTOMER, channel="sms",
                service="Haircut", starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=45), resource=1,
                status=statuses[kind], deposit_status="none", **extra)


def envelope(event: ev.BookingEvent, occurred_at: datetime) -> Envelope:
    return make_envelope(event, business_id="salon", occurred_at=occurred_at)


async def deliver(sessions: Sessions, script: Script, message: ev.BookingEvent | Envelope,
                  at: datetime = T0, *, calendar: CalendarDeps | None = None
                  ) -> list[ev.CalendarSynced]:
    """Handle one booking event as calendar's consumer would; the calendar.synced emitted."""
    env = message if isinstance(message, Envelope) else envelope(message, at)
    emitted = await handle_envelope(on_booking_event, env, calendar or deps(script),
                                    sessions=sessions, clock=SimulatedClock(at),
                                    consumer="calendar")
    return [m for m in emitted if isinstance(m, ev.CalendarSynced)]


async def row_of(sessions: Sessions, booking_id: uuid.UUID) -> CalendarBooking | None:
    async with sessions() as s:
        return await s.get(CalendarBooking, booking_id)


def body_of(booking_id: uuid.UUID, start: datetime = START) -> dict[str, Any]:
    return rules.event_body(rules.Wanted(
        booking_id=booking_id, reference="ABC123", service="Haircut", customer=CUSTOMER,
        starts_at=start, ends_at=start + timedelta(minutes=45), shown=True, stage=1),
        "America/New_York")


# --- mirroring ---------------------------------------------------------------------------------


async def test_a_confirmed_booking_is_inserted_with_an_id_from_the_booking(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([OK])
    synced = await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    assert script.requests == [Request("POST", events_uri(), {
        "id": b.hex,
        "summary": "Haircut — +1******0123",
        "description": "Booking ABC123 (Haircut), made by the receptionist. Change it through "
                       "the receptionist: edits here are overwritten when the booking changes.",
        "start": {"dateTime": "2026-12-02T15:00:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-12-02T15:45:00-05:00", "timeZone": "America/New_York"},
        "status": "confirmed",
        "transparency": "transparent",
        "extendedProperties": {"private": {"receptionist_booking": str(b),
                                           "receptionist_reference": "ABC123"}},
    })]
    assert [(s.booking_id, s.calendar_event_id, s.action) for s in synced] == [
        (b, b.hex, "inserted")]
    row = await row_of(sessions, b)
    assert row is not None and row.synced and row.known == "present"
    assert (row.known_starts_at, row.known_ends_at) == (START, END)


async def test_a_profiles_calendar_id_wins_over_the_default(sessions: Sessions) -> None:
    own = "salon-staff@group.calendar.google.com"
    async with sessions() as s, s.begin():
        profile = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
        await import_profile(s, profile.model_copy(update={"calendar_id": own}))
    b = uuid.uuid4()
    script = Script([OK, NO_CONTENT])
    await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    # the booking stays in the calendar it was written to, even if the profile changes
    async with sessions() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    await deliver(sessions, script, booking(ev.BookingCancelled, b), T0 + timedelta(hours=1))
    assert [(r.method, r.uri) for r in script.requests] == [
        ("POST", events_uri(calendar_id=own)), ("DELETE", delete_uri(b.hex, calendar_id=own))]


async def test_a_business_without_a_calendar_is_not_synced(sessions: Sessions) -> None:
    script = Script()
    no_default = CalendarDeps(api=calendar_api(script))
    await deliver(sessions, script, booking(ev.BookingConfirmed, uuid.uuid4()),
                  calendar=no_default)
    assert script.requests == []
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CalendarBooking)) == 0


async def test_a_reschedule_patches_start_and_end_in_the_business_zone(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([OK, OK])
    await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    later = START + timedelta(days=1, hours=1)  # Thu 4:00 PM
    synced = await deliver(sessions, script, booking(ev.BookingRescheduled, b, later),
                           T0 + timedelta(hours=1))
    assert script.requests[1] == Request("PATCH", events_uri(b.hex), {
        "start": {"dateTime": "2026-12-03T16:00:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-12-03T16:45:00-05:00", "timeZone": "America/New_York"}})
    assert [s.action for s in synced] == ["patched"]


@pytest.mark.parametrize("ending", [ev.BookingCancelled, ev.BookingNoShow])
async def test_a_cancel_or_no_show_deletes_the_event(sessions: Sessions,
                                                     ending: type[ev.BookingEvent]) -> None:
    b = uuid.uuid4()
    script = Script([OK, NO_CONTENT])
    await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    synced = await deliver(sessions, script, booking(ending, b), T0 + timedelta(hours=1))
    assert script.requests[1] == Request("DELETE", delete_uri(b.hex), None)
    assert [s.action for s in synced] == ["deleted"]
    row = await row_of(sessions, b)
    assert row is not None and row.known == "absent" and row.synced


async def test_a_delete_answered_404_or_410_is_done(sessions: Sessions) -> None:
    gone, deleted = uuid.uuid4(), uuid.uuid4()
    script = Script([OK, OK, error(404, "notFound"), error(410, "deleted")])
    for b in (gone, deleted):
        await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    for b in (gone, deleted):
        synced = await deliver(sessions, script, booking(ev.BookingCancelled, b),
                               T0 + timedelta(hours=1))
        assert [s.action for s in synced] == ["deleted"]
        row = await row_of(sessions, b)
        assert row is not None and row.synced and row.known == "absent"


async def test_a_completed_booking_keeps_its_event_and_a_lapsed_hold_was_never_there(
        sessions: Sessions) -> None:
    kept, lapsed = uuid.uuid4(), uuid.uuid4()
    script = Script([OK])
    await deliver(sessions, script, booking(ev.BookingConfirmed, kept))
    assert await deliver(sessions, script, booking(ev.BookingCompleted, kept),
                         T0 + timedelta(days=2)) == []
    assert await deliver(sessions, script, booking(ev.BookingExpired, lapsed)) == []
    assert len(script.requests) == 1  # the insert; nothing for the completion or the lapse


async def test_a_late_payment_after_a_lapse_inserts_the_event(sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([OK])
    await deliver(sessions, script, booking(ev.BookingExpired, b))
    await deliver(sessions, script, booking(ev.BookingConfirmed, b), T0 + timedelta(minutes=5))
    assert [(r.method, r.uri) for r in script.requests] == [("POST", events_uri())]


# --- redelivery and order ------------------------------------------------------------------------


async def test_a_redelivery_makes_no_second_request(sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([OK])
    confirmed = envelope(booking(ev.BookingConfirmed, b), T0)
    await deliver(sessions, script, confirmed)
    assert await deliver(sessions, script, confirmed) == []  # the inbox: not even handled
    # republished under another id (a producer retried): the row is in sync, no request
    again = envelope(booking(ev.BookingConfirmed, b), T0)
    assert await deliver(sessions, script, again) == []
    assert len(script.requests) == 1
    async with sessions() as s:
        handled = await s.scalar(select(func.count()).select_from(InboxMessage)
                                 .where(InboxMessage.consumer == "calendar"))
    assert handled == 2


async def test_an_insert_that_already_happened_is_patched_whole(sessions: Sessions) -> None:
    """The event exists (a crash after Google answered and before the row was written, or a
    booking deleted and confirmed again): the 409 is answered with a patch of the whole
    event, revived if it was deleted."""
    b = uuid.uuid4()
    script = Script([error(409, "duplicate"), OK])
    synced = await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    whole = body_of(b)
    del whole["id"]
    assert script.requests == [Request("POST", events_uri(), body_of(b)),
                               Request("PATCH", events_uri(b.hex), whole)]
    assert [s.action for s in synced] == ["patched"]


async def test_a_patch_of_an_event_deleted_in_google_writes_it_again(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    later = START + timedelta(hours=2)
    script = Script([OK, error(404, "notFound"), OK])
    await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    synced = await deliver(sessions, script, booking(ev.BookingRescheduled, b, later),
                           T0 + timedelta(hours=1))
    assert [(r.method, r.uri) for r in script.requests] == [
        ("POST", events_uri()), ("PATCH", events_uri(b.hex)), ("POST", events_uri())]
    assert script.requests[2].body == body_of(b, later)
    assert [s.action for s in synced] == ["inserted"]


async def test_a_cancel_handled_before_its_confirm_is_never_undone(sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([error(404, "notFound")])
    confirmed = envelope(booking(ev.BookingConfirmed, b), T0)
    cancelled = envelope(booking(ev.BookingCancelled, b), T0 + timedelta(minutes=30))
    await deliver(sessions, script, cancelled)
    assert await deliver(sessions, script, confirmed) == []  # older: changes nothing
    assert script.requests == [Request("DELETE", delete_uri(b.hex), None)]
    row = await row_of(sessions, b)
    assert row is not None and row.event_type == ev.BookingCancelled.TYPE and not row.shown


async def test_an_old_reschedule_redelivered_does_not_move_the_event_back(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    first, second = START + timedelta(hours=1), START + timedelta(hours=3)
    script = Script([OK, OK, OK])
    await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    old = envelope(booking(ev.BookingRescheduled, b, first), T0 + timedelta(hours=1))
    new = envelope(booking(ev.BookingRescheduled, b, second), T0 + timedelta(hours=2))
    await deliver(sessions, script, new)
    assert await deliver(sessions, script, old) == []
    assert [r.method for r in script.requests] == ["POST", "PATCH"]
    assert script.requests[1].body["start"]["dateTime"] == "2026-12-02T18:00:00-05:00"
    row = await row_of(sessions, b)
    assert row is not None and row.known_starts_at == second


async def test_a_cancel_merged_while_the_insert_was_in_flight_is_applied_after_it(
        sessions: Sessions, database_url: str) -> None:
    """Another replica merges the cancel while this one's insert is on its way to Google:
    the insert's result is not recorded as the truth; the booking is synced again to the
    newest event, so the calendar ends without the event."""
    b = uuid.uuid4()
    dsn = make_url(async_url(database_url)).set(drivername="postgresql").render_as_string(
        hide_password=False)

    class CancelMeanwhile(Script):
        def request(self, uri: str, method: str = "GET", body: Any = None,
                    headers: Any = None, redirections: int = 1,
                    connection_type: Any = None) -> Any:
            if method == "POST":  # what `_merge` of a newer cancel does, from another replica
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("UPDATE calendar_bookings SET shown = false, stage = 3, "
                                 "occurred_at = occurred_at + interval '1 minute', "
                                 "synced = false, revision = revision + 1 "
                                 "WHERE booking_id = %s", (b,))
            return super().request(uri, method, body, headers, redirections, connection_type)

    script = CancelMeanwhile([OK, NO_CONTENT])
    synced = await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    assert [r.method for r in script.requests] == ["POST", "DELETE"]
    assert [s.action for s in synced] == ["inserted", "deleted"]
    row = await row_of(sessions, b)
    assert row is not None and row.synced and row.known == "absent"


async def test_a_booking_that_keeps_changing_is_retried_later(sessions: Sessions,
                                                              database_url: str) -> None:
    b = uuid.uuid4()
    dsn = make_url(async_url(database_url)).set(drivername="postgresql").render_as_string(
        hide_password=False)

    class AlwaysChanging(Script):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("UPDATE calendar_bookings SET revision = revision + 1 "
                             "WHERE booking_id = %s", (b,))
            return super().request(*args, **kwargs)

    script = AlwaysChanging([OK, error(409), OK, error(409), OK])
    with pytest.raises(Superseded) as raised:
        await deliver(sessions, script, booking(ev.BookingConfirmed, b))
    assert raised.value.retryable  # the consumer tries the message again
    row = await row_of(sessions, b)
    assert row is not None and not row.synced and row.known == "unknown"


# --- failures ---------------------------------------------------------------------------------


async def test_a_rate_limit_is_waited_out_and_the_booking_inserted_once(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([error(429, "rateLimitExceeded", **{"retry-after": "2"}), OK])
    sleeps = Sleeps()
    synced = await deliver(sessions, script, booking(ev.BookingConfirmed, b),
                           calendar=deps(script, sleeps))
    assert sleeps.waits == [2.0]
    assert [r.method for r in script.requests] == ["POST", "POST"]
    assert script.requests[0] == script.requests[1]  # the same insert, the same event id
    assert [s.action for s in synced] == ["inserted"]


async def test_google_down_is_left_to_the_consumer_and_the_retry_inserts(
        sessions: Sessions) -> None:
    b = uuid.uuid4()
    script = Script([error(503), error(503), error(503)])
    confirmed = envelope(booking(ev.BookingConfirmed, b), T0)
    with pytest.raises(Exception) as raised:
        await deliver(sessions, script, confirmed)
    assert getattr(raised.value, "retryable", False)
    script.answer(OK)
    synced = await deliver(sessions, script, confirmed)  # the consumer's retry
    assert [s.action for s in synced] == ["inserted"]
    assert len(script.requests) == 4


async def calendar_host(sessions: Sessions, script: Script, settings: Settings = GOOGLE_ON,
                        calendar: CalendarDeps | None = None
                        ) -> tuple[ServiceHost, MemoryTransport, OutboxRelay]:
    """calendar hosted like any service, on the in-memory bus, its Google played by `script`."""
    topology = Topology(prefix="t", retry_delays_ms=(10, 20),
                        bindings=bindings_of([CALENDAR], settings))
    transport = MemoryTransport(topology)
    await transport.connect()
    await transport.declare()
    clock = SimulatedClock(T0)
    relay = OutboxRelay(sessions, transport, clock)
    host = ServiceHost(Wiring(settings=settings, clock=clock, sessions=sessions,
                              transport=transport, relay=relay), [CALENDAR],
                       overrides={"calendar": calendar or deps(script)})
    return host, transport, relay


async def test_a_revoked_credential_dead_letters_each_message_and_is_reported_once(
        sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    script = Script([error(401, "authError"), error(401, "authError")])
    host, transport, _ = await calendar_host(sessions, script)
    await host.start(prefetch=1)
    envelopes = [envelope(booking(ev.BookingConfirmed, uuid.uuid4()), T0) for _ in range(2)]
    with caplog.at_level(logging.ERROR):
        for env in envelopes:
            await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
        await transport.wait_idle()
    await host.stop(grace_s=1)
    dead = await transport.dead_letters("calendar")
    assert len(dead) == 2  # each dead at once: no retry loop
    assert {headers[DEAD_REASON_HEADER] for _, headers in dead} == {"permanent"}
    assert len(script.requests) == 2  # one request per message, none repeated
    reports = [r for r in caplog.records if "refused the service account" in r.getMessage()]
    assert len(reports) == 1 and reports[0].levelno == logging.ERROR
    assert "receptionist dead replay calendar" in reports[0].getMessage()
    async with sessions() as s:
        assert not (await s.scalars(select(CalendarBooking.synced))).all()[0]


async def test_a_calendar_not_shared_is_permanent(sessions: Sessions) -> None:
    script = Script([error(404, "notFound")])
    with pytest.raises(PermanentError, match="not found"):
        await deliver(sessions, script, booking(ev.BookingConfirmed, uuid.uuid4()))


# --- the busy import -----------------------------------------------------------------------------


async def outbox_busy(sessions: Sessions) -> list[Envelope]:
    async with sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).where(
            OutboxMessage.type == ev.CalendarBusyChanged.TYPE).order_by(OutboxMessage.id))).all()
    return [parse_envelope(json.dumps(r.envelope)) for r in rows]


DENTIST = ("2026-12-02T20:00:00Z", "2026-12-02T20:45:00Z")  # Wed 3:00-3:45 PM in New York
LUNCH = ("2026-12-03T17:00:00Z", "2026-12-03T18:00:00Z")


async def test_busy_times_are_published_once_per_change(sessions: Sessions) -> None:
    script = Script([busy_answer(DENTIST)])
    calendar = deps(script)
    clock = SimulatedClock(T0)
    assert await poll_busy(sessions, clock, calendar) == 1
    assert script.take() == [Request("POST", FREEBUSY_URI, {
        "timeMin": "2026-12-01T05:00:00Z",  # the salon's local midnight today
        "timeMax": "2027-01-31T05:00:00Z",  # the end of its 60th day ahead
        "timeZone": "UTC", "items": [{"id": CALENDAR_ID}]})]
    [first] = await outbox_busy(sessions)
    assert first.business_id == "salon"
    payload = first.payload
    assert payload["busy"] == [{"starts_at": "2026-12-02T20:00:00Z",
                                "ends_at": "2026-12-02T20:45:00Z"}]
    assert payload["window_start"] == "2026-12-01T05:00:00Z"
    async with sessions() as s:
        assert await next_due(s) == T0 + timedelta(minutes=5)

    clock.advance(timedelta(minutes=1))
    assert await poll_busy(sessions, clock, calendar) == 0  # not due: Google is not asked
    clock.advance(timedelta(minutes=4))
    script.answer(busy_answer(("2026-12-02T20:00:00Z", "2026-12-02T20:30:00Z"),
                              ("2026-12-02T20:30:00Z", "2026-12-02T20:45:00Z")))
    assert await poll_busy(sessions, clock, calendar) == 0  # the same time, split: no change
    clock.advance(timedelta(minutes=5))
    script.answer(busy_answer(DENTIST, LUNCH))
    assert await poll_busy(sessions, clock, calendar) == 1
    clock.advance(timedelta(minutes=5))
    script.answer(busy_answer())
    assert await poll_busy(sessions, clock, calendar) == 1  # all free again: said too
    published = await outbox_busy(sessions)
    assert [len(e.payload["busy"]) for e in published] == [1, 2, 0]
    assert len({e.event_id for e in published}) == 3
    assert script.unanswered == 0


async def test_a_poll_that_fails_publishes_nothing_and_is_tried_next_period(
        sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    script = Script([error(401, "authError"), error(401, "authError")])
    calendar = deps(script)
    clock = SimulatedClock(T0)
    with caplog.at_level(logging.ERROR):
        assert await poll_busy(sessions, clock, calendar) == 0
        clock.advance(timedelta(minutes=5))
        assert await poll_busy(sessions, clock, calendar) == 0
    assert len(script.requests) == 2
    assert len([r for r in caplog.records if "refused the service account" in r.message]) == 1
    assert await outbox_busy(sessions) == []


async def test_fsm_blocks_the_busy_times_and_refuses_them(sessions: Sessions) -> None:
    script = Script([busy_answer(DENTIST)])
    clock = SimulatedClock(T0)
    assert await poll_busy(sessions, clock, deps(script)) == 1
    [changed] = await outbox_busy(sessions)
    await handle_envelope(on_calendar_busy_changed, changed, FsmDeps(), sessions=sessions,
                          clock=clock, consumer="fsm")
    async with sessions() as s:
        blocked = (await s.execute(select(BlockedTime.starts_at, BlockedTime.ends_at))).all()
    assert [tuple(r) for r in blocked] == [(START, END)]

    # an older report, handled late, changes nothing
    stale = make_envelope(ev.CalendarBusyChanged(
        window_start=T0, window_end=T0 + timedelta(days=60), busy=(),
        checked_at=T0 - timedelta(minutes=5)), business_id="salon", occurred_at=T0)
    await handle_envelope(on_calendar_busy_changed, stale, FsmDeps(), sessions=sessions,
                          clock=clock, consumer="fsm")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(BlockedTime)) == 1

    # a customer asks for Wed 3:00 PM: both chairs are free, but the staff is at the dentist
    asked = ev.MessageUnderstood(
        channel="sms", provider_message_id="SMcal0001", customer="+15555550101",
        text="haircut tomorrow at 3pm", received_at=T0, intent="book",
        slots=ev.Slots(service="Haircut", date=date(2026, 12, 2), time=time(15)),
        confidence=0.95, extractor="rules")
    emitted = await handle(on_message_understood, asked, FsmDeps(), sessions=sessions,
                           clock=clock, consumer="fsm")
    [reply] = [m for m in emitted if isinstance(m, ReplyRequested)]
    assert "2:15 PM" in reply.text and "3:45 PM" in reply.text, reply.text
    async with sessions() as s:
        state = await s.scalar(select(Conversation.state))
    assert state != "confirming"


async def test_the_job_runs_on_the_hosts_ticks_and_its_change_reaches_fsm_over_the_bus(
        sessions: Sessions) -> None:
    """Hosted together (as the one-process system hosts them): the calendar's tick polls,
    the relay publishes, fsm's consumer replaces its blocked times."""
    from services.fsm.definition import DEFINITION as FSM

    script = Script([busy_answer(DENTIST)])
    topology = Topology(prefix="t", retry_delays_ms=(10,),
                        bindings=bindings_of([CALENDAR, FSM], GOOGLE_ON))
    transport = MemoryTransport(topology)
    await transport.connect()
    await transport.declare()
    clock = SimulatedClock(T0)
    relay = OutboxRelay(sessions, transport, clock)
    host = ServiceHost(Wiring(settings=GOOGLE_ON, clock=clock, sessions=sessions,
                              transport=transport, relay=relay), [CALENDAR, FSM],
                       overrides={"calendar": deps(script)})
    assert host.has_timers
    await host.start(prefetch=1)
    try:
        assert await host.tick() == 1
        await relay.drain()
        await transport.wait_idle()

        async def blocked() -> bool:
            async with sessions() as s:
                return bool(await s.scalar(select(func.count()).select_from(BlockedTime)))

        await eventually(blocked, what="fsm's blocked times")
        async with sessions() as s:
            assert await host.next_due(s) == T0 + timedelta(minutes=5)
            poll = await s.get(CalendarBusy, "salon")
        assert poll is not None and poll.calendar_id == CALENDAR_ID
    finally:
        await host.stop(grace_s=1)


# --- switched off --------------------------------------------------------------------------------


async def test_without_google_the_service_is_off_with_no_queue_said_once(
        sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    off = Settings(google_service_account_path="")
    assert not CALENDAR.is_enabled(off)
    topology = full_topology("t", (10,), settings=off)
    assert "calendar" not in topology.bindings
    transport = MemoryTransport(topology)
    await transport.connect()
    await transport.declare()
    clock = SimulatedClock(T0)
    with caplog.at_level(logging.WARNING):
        host = compose(Wiring(settings=off, clock=clock, sessions=sessions, transport=transport,
                              relay=OutboxRelay(sessions, transport, clock)),
                       overrides=_offline_overrides(transport, sessions, clock))
    assert "calendar" not in {d.name for d in host.definitions}
    assert "calendar" not in host.deps  # its deps (the key file) are never even read
    assert [r.getMessage() for r in caplog.records].count(OFF_NOTE) == 1
    # a booking event finds no calendar queue: nothing piles up for it
    env = envelope(booking(ev.BookingConfirmed, uuid.uuid4()), T0)
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    assert "calendar" not in transport._queues
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CalendarBusy)) == 0
    assert len(DEFINITIONS) == len(host.definitions) + 1


def _offline_overrides(transport: MemoryTransport, sessions: Sessions,
                       clock: SimulatedClock) -> dict[str, Any]:
    """What the scenario runner hands in for the services with outside systems."""
    from services.ingress.deps import IngressConfig, IngressDeps
    from services.notifier.adapters.recording import RecordingChannel
    from services.notifier.deps import NotifierDeps
    from services.payments.adapters.offline import OfflineGateway
    from services.payments.handlers import PaymentsDeps

    return {
        "ingress": IngressDeps(transport=transport, session_factory=sessions, clock=clock,
                               config=IngressConfig(public_base_url="https://x.example")),
        "notifier": NotifierDeps(channel=RecordingChannel()),
        "payments": PaymentsDeps(gateway=OfflineGateway("https://x.example")),
    }


# --- as a process -------------------------------------------------------------------------------


@pytest.fixture
async def harness(tmp_path: Path, database_url: str, amqp_url: str, topology: Topology,
                  sessions: Sessions) -> process_kit.Harness:
    profile = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    return process_kit.Harness(tmp_path, database_url, amqp_url, topology, sessions, profile)


async def test_the_process_without_google_idles_with_no_queue(
        harness: process_kit.Harness) -> None:
    """`python -m services.calendar` with no key: up and ready, says so once, declares no
    queue, and exits cleanly on SIGTERM."""
    ops_port = process_kit.free_port()
    async with harness.service("calendar", OPS_PORT=str(ops_port)) as proc:

        async def ready() -> bool:
            import httpx
            try:
                async with httpx.AsyncClient() as client:
                    answer = await client.get(f"http://127.0.0.1:{ops_port}/readyz")
            except httpx.HTTPError:
                return False
            return answer.status_code == 200

        await proc.until(ready, "services.calendar ready", within_s=process_kit.START_BOUND_S)
        await asyncio.sleep(1.5)  # a tick or so: the job would have polled if it ran
        connection = await aio_pika.connect(harness.amqp_url)
        async with connection:
            channel = await connection.channel()
            with pytest.raises(aio_pika.exceptions.ChannelClosed):
                await channel.declare_queue(harness.topology.queue("calendar"), passive=True)
        await proc.stop()
    assert proc.output().count(OFF_NOTE) == 1, proc.output()
    async with harness.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CalendarBusy)) == 0


def service_account_key(path: Path) -> None:
    """A made-up service account key (a fresh RSA key): readable, never valid at Google."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "receptionist-test",
        "private_key_id": "0" * 40, "private_key": pem,
        "client_email": "calendar@receptionist-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))


async def test_the_process_with_a_key_consumes_booking_events(
        harness: process_kit.Harness, sessions: Sessions) -> None:
    """With a key (and no calendar for the salon, so nothing is sent to Google): the process
    consumes from its own queue and handles a booking event."""
    key = harness.tmp_path / "google.json"
    service_account_key(key)
    b = uuid.uuid4()
    env = make_envelope(booking(ev.BookingConfirmed, b, datetime.now(UTC) + timedelta(days=3)),
                        business_id="salon", occurred_at=datetime.now(UTC))

    async def handled() -> bool:
        async with sessions() as s:
            return await s.get(InboxMessage, ("calendar", env.event_id)) is not None

    proc = await processes.serve_one(harness, "calendar", env, handled,
                                     "the booking event in calendar's inbox",
                                     GOOGLE_SERVICE_ACCOUNT_PATH=str(key))
    assert OFF_NOTE not in proc.output()
    assert await row_of(sessions, b) is None  # the salon names no calendar: nothing to sync
