"""calendar: mirrors every booking into the business's Google Calendar (docs/architecture.md,
"Calendar"). The busy times it reads back are `scheduled.poll_busy`'s.

Each booking event is handled in three steps (read, call outside, write):

1. **Merge** the event into the booking's row (`calendar_bookings`) if it is newer than
   what the row holds (`occurred_at`, then `stage`, as reminders orders them): an older
   event (a cancel handled before its confirm, an old reschedule redelivered) changes
   nothing, and neither does the same event again.
2. **Sync**: if the row is not in sync, make the one request (`rules.plan`) that brings the
   calendar to what the row wants, and record the result, but only if the row did not
   change meanwhile (`revision`). If it did (another replica merged a newer event while the
   request was in flight, and the two requests may have landed in either order), the
   calendar is marked `unknown` and synced again to the newest; the last request to land is
   always followed by its sender's check, so the calendar ends as the newest event says.
3. **Write**: the inbox claim, and a `calendar.synced` for each request made.

Requests are idempotent by the event id (derived from the booking id): an insert answered
409 patches the event whole; a delete answered 404 or 410 counts as done.

A refused credential, or a calendar that is not there or not shared with the service
account, is logged once per business per process (ERROR) and the message dead-lettered
(`PermanentError`): retrying cannot help, and after the fix `receptionist dead replay
calendar` sends them back. Google unavailable (429, 5xx, network) is retried in the adapter,
then by the consumer for as long as it lasts.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import and_, delete, func, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.context import HandlerContext, HandlerMap, PermanentError
from libs.business.service import get_profile
from libs.contracts import events as ev
from services.calendar import rules
from services.calendar.google import (
    CalendarError,
    Conflict,
    CredentialRefused,
    GoogleCalendar,
    NotFound,
    Refused,
)
from services.calendar.models import KNOWN, CalendarBooking

log = logging.getLogger(__name__)

OWNER = "calendar"
SYNC_ROUNDS = 3
Action = Literal["inserted", "patched", "deleted"]


class Superseded(Exception):
    """The booking kept changing while its requests were in flight: try the message again
    (the consumer retries it; the row says what is still to do)."""

    retryable = True


@dataclass
class CalendarDeps:
    """`default_calendar_id`: for businesses whose profile names none (`GOOGLE_CALENDAR_ID`).
    `reported`: (business, problem) pairs already logged at ERROR by this process."""

    api: GoogleCalendar
    default_calendar_id: str | None = None
    poll_every: timedelta = timedelta(minutes=5)
    reported: set[tuple[str, str]] = field(default_factory=set)

    def report_once(self, business_id: str, problem: str, message: str) -> None:
        if (business_id, problem) in self.reported:
            return
        self.reported.add((business_id, problem))
        log.error("calendar: %s", message)


# --- booking events ------------------------------------------------------------------------


async def on_booking_event(ctx: HandlerContext, event: ev.BookingEvent,
                           deps: CalendarDeps) -> None:
    async with ctx.read() as session:
        profile = await get_profile(session, ctx.business_id)
    if profile is None:
        raise PermanentError(f"unknown business {ctx.business_id!r}")
    calendar_id = profile.calendar_id or deps.default_calendar_id
    await _merge(ctx, event, calendar_id)
    synced = await _sync(ctx, event.booking_id, profile.timezone, deps)
    async with ctx.write():
        for message in synced:
            ctx.emit(message)


async def _merge(ctx: HandlerContext, event: ev.BookingEvent, calendar_id: str | None) -> None:
    """Record the event as what the calendar should show, unless the row holds a newer one.
    A business without a calendar gets no row (nothing to sync); a booking's row keeps the
    calendar its event was first written to."""
    stage = ev.BOOKING_STAGES[type(event)]
    values = {
        "event_type": event.TYPE, "occurred_at": ctx.occurred_at,
        "stage": stage, "shown": type(event) in rules.SHOWN,
        "reference": event.reference, "service": event.service, "customer": event.customer,
        "starts_at": event.starts_at, "ends_at": event.ends_at, "synced": False,
    }
    row = CalendarBooking
    newer = tuple_(row.occurred_at, row.stage) < tuple_(ctx.occurred_at, stage)
    async with ctx.record() as session:
        if calendar_id is None:
            await session.execute(update(row).where(row.booking_id == event.booking_id, newer)
                                  .values(**values, revision=row.revision + 1,
                                          updated_at=func.now()))
            return
        stmt = insert(row).values(booking_id=event.booking_id, business_id=ctx.business_id,
                                  calendar_id=calendar_id, revision=0, **values)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[row.booking_id],
            set_={**{name: stmt.excluded[name] for name in values},
                  "revision": row.revision + 1, "updated_at": func.now()},
            where=tuple_(row.occurred_at, row.stage)
            < tuple_(stmt.excluded.occurred_at, stmt.excluded.stage)))


async def _sync(ctx: HandlerContext, booking_id: uuid.UUID, zone: str,
                deps: CalendarDeps) -> list[ev.CalendarSynced]:
    """Bring the calendar to what the booking's row wants; a `calendar.synced` per request."""
    made: list[ev.CalendarSynced] = []
    for _ in range(SYNC_ROUNDS):
        async with ctx.read() as session:
            row = await session.get(CalendarBooking, booking_id)
        if row is None or row.synced:
            return made
        wanted = rules.Wanted(
            booking_id=booking_id, reference=row.reference, service=row.service,
            customer=row.customer, starts_at=row.starts_at, ends_at=row.ends_at,
            shown=row.shown, stage=row.stage)
        call = rules.plan(wanted, _known(row.known), (row.known_starts_at, row.known_ends_at),
                          zone)
        action = None if call is None else await _request(
            deps, ctx.business_id, row.calendar_id, wanted, call, zone)
        if action is not None:
            made.append(ev.CalendarSynced(booking_id=booking_id,
                                          calendar_event_id=rules.event_id(booking_id),
                                          action=action, synced_at=ctx.clock.now()))
        async with ctx.record() as session:
            if await _record(session, row.revision, wanted, ctx.clock.now()):
                return made
    raise Superseded(f"booking {booking_id} changed during each of {SYNC_ROUNDS} syncs")


async def _record(session: AsyncSession, revision: int, wanted: rules.Wanted,
                  now: datetime) -> bool:
    """The calendar now shows `wanted`, if the row is still at `revision`; else it may show
    either (another request raced this one): `unknown`, to be synced again."""
    row = CalendarBooking
    done = await session.scalar(
        update(row).where(row.booking_id == wanted.booking_id, row.revision == revision)
        .values(known="present" if wanted.shown else "absent",
                known_starts_at=wanted.starts_at if wanted.shown else None,
                known_ends_at=wanted.ends_at if wanted.shown else None,
                synced=True, synced_at=now, revision=revision + 1, updated_at=func.now())
        .returning(row.booking_id))
    if done is not None:
        return True
    await session.execute(
        update(row).where(row.booking_id == wanted.booking_id)
        .values(known="unknown", synced=False, revision=row.revision + 1,
                updated_at=func.now()))
    log.info("booking %s changed while its calendar request was in flight; syncing again",
             wanted.booking_id)
    return False


async def _request(deps: CalendarDeps, business_id: str, calendar_id: str,
                   wanted: rules.Wanted, call: rules.Call, zone: str) -> Action:
    """Make the request; what was done. Errors retrying cannot fix become `PermanentError`
    (dead-lettered), reported once per business."""
    api = deps.api
    event_id = rules.event_id(wanted.booking_id)
    try:
        match call:
            case rules.Delete():
                try:
                    await api.delete(calendar_id, event_id)
                except NotFound:
                    log.info("calendar event of booking %s was not there: nothing to delete",
                             wanted.booking_id)
                return "deleted"
            case rules.Patch(body=body):
                try:
                    await api.patch(calendar_id, event_id, body)
                    return "patched"
                except NotFound:  # deleted in Google meanwhile: write it again
                    return await _insert(api, calendar_id, wanted, zone)
            case rules.Insert():
                return await _insert(api, calendar_id, wanted, zone)
    except CredentialRefused as exc:
        deps.report_once(business_id, "credential", (
            f"Google refused the service account for business {business_id!r}, calendar "
            f"{calendar_id!r}: {exc.reason}. Its booking events are dead-lettered until the "
            "key is replaced or the calendar is shared with the service account again; then "
            "`receptionist dead replay calendar`"))
        raise PermanentError(f"Google Calendar refused the credential: {exc.reason}") from exc
    except NotFound as exc:
        deps.report_once(business_id, "calendar", (
            f"calendar {calendar_id!r} of business {business_id!r} was not found ({exc.reason}): "
            "check its calendar_id and that it is shared with the service account; its "
            "booking events are dead-lettered until then"))
        raise PermanentError(f"Google Calendar not found: {exc.reason}") from exc
    except Refused as exc:
        raise PermanentError(f"Google Calendar refused the request: {exc.reason}") from exc
    raise AssertionError(f"unknown call {call!r}")  # pragma: no cover


async def _insert(api: GoogleCalendar, calendar_id: str, wanted: rules.Wanted,
                  zone: str) -> Action:
    try:
        await api.insert(calendar_id, rules.event_body(wanted, zone))
        return "inserted"
    except Conflict:  # written by an earlier try, or deleted (Google keeps it): update it
        await api.patch(calendar_id, rules.event_id(wanted.booking_id),
                        rules.revived_body(wanted, zone))
        return "patched"


def _known(value: str | None) -> rules.Known | None:
    return cast(rules.Known, value) if value in KNOWN else None


# --- upkeep --------------------------------------------------------------------------------


async def prune_calendar(session: AsyncSession, cutoff: datetime) -> int:
    """Rows of bookings that ended before the cutoff and are in sync: nothing left to do."""
    result = await session.execute(delete(CalendarBooking).where(
        and_(CalendarBooking.synced.is_(True), CalendarBooking.ends_at < cutoff)))
    return int(getattr(result, "rowcount", 0) or 0)


HANDLERS: HandlerMap[CalendarDeps] = {
    ev.BookingConfirmed: on_booking_event,
    ev.BookingRescheduled: on_booking_event,
    ev.BookingCancelled: on_booking_event,
    ev.BookingExpired: on_booking_event,
    ev.BookingCompleted: on_booking_event,
    ev.BookingNoShow: on_booking_event,
}

__all__ = ["HANDLERS", "OWNER", "CalendarDeps", "CalendarError", "Superseded",
           "on_booking_event", "prune_calendar"]
