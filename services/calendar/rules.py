"""The calendar's rules, pure: what a booking looks like in Google Calendar, which request
brings the calendar to it, and the busy times worth telling fsm about.

- **The event id** is the booking id's hex (Google wants 5-1024 characters of base32hex,
  `[a-v0-9]`; hex is a subset), so an insert repeated for any reason finds the first one
  (409) instead of making a second event.
- **The event**: the service and the customer's masked number as the summary, the booking
  reference in the description, start and end in the business's zone. It is `transparent`
  ("show as free"): Google's free/busy leaves it out, so what free/busy reports busy is the
  business's own time, never the bookings mirrored there (see `busy_window`).
- **Which request** (`plan`): from what the newest booking event says the calendar should
  show and what the calendar is known to hold. A booking confirmed, moved or completed is
  there; cancelled, expired or a no-show is not.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from libs.contracts import events as ev
from libs.logs import mask_phone

SHOWN: frozenset[type[ev.BookingEvent]] = frozenset(
    {ev.BookingConfirmed, ev.BookingRescheduled, ev.BookingCompleted})
"""After these the booking is in the calendar; after the others it is not."""

Known = Literal["present", "absent", "unknown"]
"""What the calendar holds as far as we know: the event, no event (deleted), or either (a
request may have raced another one). None: nothing was ever written for the booking."""


def event_id(booking_id: uuid.UUID) -> str:
    """The Google event id of a booking's event: its id's 32 hex digits."""
    return booking_id.hex


def summary(service: str, customer: str) -> str:
    """`Haircut — +1******0123`: enough for the staff to tell customers apart."""
    who = "web chat" if customer.startswith("web:") else mask_phone(customer)
    return f"{service} — {who}"


@dataclass(frozen=True)
class Wanted:
    """What the booking's newest event says the calendar should show."""

    booking_id: uuid.UUID
    reference: str
    service: str
    customer: str
    starts_at: datetime
    ends_at: datetime
    shown: bool
    stage: int


def when(instant: datetime, zone: str) -> dict[str, str]:
    """A start or end as Google takes it: the local time with its offset, and the zone."""
    return {"dateTime": instant.astimezone(ZoneInfo(zone)).isoformat(), "timeZone": zone}


def times(wanted: Wanted, zone: str) -> dict[str, Any]:
    return {"start": when(wanted.starts_at, zone), "end": when(wanted.ends_at, zone)}


def event_body(wanted: Wanted, zone: str) -> dict[str, Any]:
    """The whole event, as inserted."""
    return {
        "id": event_id(wanted.booking_id),
        "summary": summary(wanted.service, wanted.customer),
        "description": f"Booking {wanted.reference} ({wanted.service}), made by the "
                       "receptionist. Change it through the receptionist: edits here are "
                       "overwritten when the booking changes.",
        **times(wanted, zone),
        "status": "confirmed",
        "transparency": "transparent",
        "extendedProperties": {"private": {"receptionist_booking": str(wanted.booking_id),
                                           "receptionist_reference": wanted.reference}},
    }


def revived_body(wanted: Wanted, zone: str) -> dict[str, Any]:
    """The whole event as a patch, for an insert answered 409: the id exists (from an earlier
    try, or deleted, which Google keeps as `cancelled`), so it is brought up to date."""
    body = event_body(wanted, zone)
    del body["id"]
    return body


@dataclass(frozen=True)
class Insert:
    body: dict[str, Any]


@dataclass(frozen=True)
class Patch:
    body: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    pass


Call = Insert | Patch | Delete


def plan(wanted: Wanted, known: Known | None,
         known_times: tuple[datetime | None, datetime | None], zone: str) -> Call | None:
    """The request that makes the calendar show `wanted`, or None when it already does.

    A booking that should be there: patched to its new times when the event is known to be
    there (a reschedule), else inserted (an insert answered 409 is patched whole by the
    caller). One that should not: deleted when it is or may be there. A cancellation or a
    no-show heard before anything was written still deletes (the event may predate what
    this service remembers; a 404 is fine); a lapsed hold was never in the calendar.
    """
    if wanted.shown:
        if known == "present":
            if known_times == (wanted.starts_at, wanted.ends_at):
                return None  # completed, or heard again: the event is as it should be
            return Patch(times(wanted, zone))
        return Insert(event_body(wanted, zone))
    if known in ("present", "unknown"):
        return Delete()
    if known is None and wanted.stage >= ev.BOOKING_STAGES[ev.BookingCancelled]:
        return Delete()
    return None


# --- busy times ------------------------------------------------------------------------------


def busy_window(now: datetime, zone: str, max_days_ahead: int) -> tuple[datetime, datetime]:
    """From the start of the business's local today to the end of the last day it takes
    bookings for: what availability can offer. Whole local days, so Google's clipping of a
    range at the window's edge changes only when the day does."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=max_days_ahead + 1), time(0), tzinfo=tz)
    return start, end


def normalise(ranges: list[tuple[datetime, datetime]], start: datetime,
              end: datetime) -> list[tuple[datetime, datetime]]:
    """Clipped to `[start, end)`, empty ones dropped, sorted, overlapping or touching ones
    merged: one canonical list for the same busy time, however Google splits it."""
    clipped = sorted((max(s, start), min(e, end)) for s, e in ranges)
    merged: list[tuple[datetime, datetime]] = []
    for s, e in clipped:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def digest(ranges: list[tuple[datetime, datetime]]) -> str:
    """A fingerprint of normalised ranges: equal when the busy times are the same."""
    text = ";".join(f"{s.timestamp():.0f}-{e.timestamp():.0f}" for s, e in ranges)
    return hashlib.sha256(text.encode()).hexdigest()
