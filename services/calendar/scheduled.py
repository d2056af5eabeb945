"""The busy import: each business's Google free/busy, read every `CALENDAR_BUSY_POLL_MINUTES`,
published as `calendar.busy.changed` when it changed (docs/architecture.md, "Calendar").

On every tick, one transaction adds a `calendar_busy` row for each business without one
(due now) and claims the due rows (`FOR UPDATE SKIP LOCKED`, moving each to its next poll),
so two replicas never poll a business twice in one period. Then, per business, outside any
transaction: its calendar (the profile's `calendar_id`, else `GOOGLE_CALENDAR_ID`; none:
nothing to poll) is asked for free/busy from the start of its local today to the last day it
takes bookings for. The ranges are normalised (clipped, sorted, merged) and fingerprinted;
only a fingerprint unlike the one last published is written, with its outbox row, in one
transaction.

The events this service writes are `transparent`, which free/busy leaves out: what it
reports busy is the business's own time. (Subtracting our bookings from what it reports would
not work: Google merges overlapping and touching busy ranges, so a booking beside a
personal appointment comes back as one range that equals neither.)

A refused credential or a missing calendar is logged once per business per process and the
business is polled again next period; Google unavailable is logged and tried next period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import DateTime, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import Integer

from libs.bus.outbox import add_to_outbox
from libs.business.service import get_profile
from libs.clock import Clock
from libs.contracts.envelope import deterministic_event_id
from libs.contracts.events import BusyRange, CalendarBusyChanged
from libs.contracts.registry import make_envelope
from libs.logs import log_context
from libs.runtime.definition import ScheduledJob, Wiring
from services.calendar import rules
from services.calendar.google import CredentialRefused, NotFound, Unavailable
from services.calendar.handlers import OWNER, CalendarDeps
from services.calendar.models import CalendarBusy

log = logging.getLogger(__name__)

POLL_BATCH = 50

ADD_NEW = text("""
    INSERT INTO calendar_busy (business_id, next_poll_at)
    SELECT b.id, :now FROM businesses AS b
     WHERE NOT EXISTS (SELECT 1 FROM calendar_busy AS c WHERE c.business_id = b.id)
    ON CONFLICT (business_id) DO NOTHING
""").bindparams(bindparam("now", type_=DateTime(timezone=True)))

CLAIM = text("""
    UPDATE calendar_busy AS c
       SET next_poll_at = :next
      FROM (SELECT business_id FROM calendar_busy
             WHERE next_poll_at <= :now
             ORDER BY next_poll_at
             LIMIT :limit
               FOR UPDATE SKIP LOCKED) AS due
     WHERE c.business_id = due.business_id
    RETURNING c.business_id
""").bindparams(bindparam("now", type_=DateTime(timezone=True)),
                bindparam("next", type_=DateTime(timezone=True)),
                bindparam("limit", type_=Integer))


async def poll_busy(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                    deps: CalendarDeps) -> int:
    """Poll every business due now; returns how many busy changes were published."""
    now = clock.now()
    async with sessions() as session, session.begin():
        await session.execute(ADD_NEW, {"now": now})
        due = list((await session.execute(
            CLAIM, {"now": now, "next": now + deps.poll_every, "limit": POLL_BATCH}
        )).scalars())
    published = 0
    for business_id in sorted(due):
        with log_context(service=OWNER, business_id=business_id):
            published += await _poll(sessions, now, deps, business_id)
    return published


async def _poll(sessions: async_sessionmaker[AsyncSession], now: datetime,
                deps: CalendarDeps, business_id: str) -> int:
    async with sessions() as session:
        profile = await get_profile(session, business_id)
    calendar_id = None if profile is None else profile.calendar_id or deps.default_calendar_id
    if profile is None or calendar_id is None:
        async with sessions() as session, session.begin():
            await session.execute(update(CalendarBusy).where(
                CalendarBusy.business_id == business_id).values(calendar_id=None))
        return 0
    start, end = rules.busy_window(now, profile.timezone, profile.booking.max_days_ahead)
    try:
        found = await deps.api.busy(calendar_id, start, end)
    except CredentialRefused as exc:
        deps.report_once(business_id, "credential", (
            f"Google refused the service account for business {business_id!r}: "
            f"{exc.reason}; its busy times are not read until the key is fixed"))
        return 0
    except NotFound as exc:
        deps.report_once(business_id, "calendar", (
            f"calendar {calendar_id!r} of business {business_id!r} was not found "
            f"({exc.reason}): check its calendar_id and that it is shared with the "
            "service account"))
        return 0
    except Unavailable as exc:
        log.warning("calendar: free/busy of business %s unavailable (%s); read again at the "
                    "next poll", business_id, exc.reason)
        return 0
    ranges = rules.normalise(found, start, end)
    fingerprint = rules.digest(ranges)
    async with sessions() as session, session.begin():
        row = CalendarBusy
        newer = or_(row.checked_at.is_(None), row.checked_at < now)
        changed = await session.scalar(
            update(row).where(row.business_id == business_id, newer,
                              row.digest.is_distinct_from(fingerprint))
            .values(digest=fingerprint, calendar_id=calendar_id, checked_at=now,
                    published_at=now)
            .returning(row.business_id))
        if changed is None:
            await session.execute(update(row).where(row.business_id == business_id, newer)
                                  .values(calendar_id=calendar_id, checked_at=now))
            return 0
        message = CalendarBusyChanged(
            window_start=start.astimezone(UTC), window_end=end.astimezone(UTC), checked_at=now,
            busy=tuple(BusyRange(starts_at=s, ends_at=e) for s, e in ranges))
        await add_to_outbox(session, [make_envelope(
            message, business_id=business_id, occurred_at=now,
            event_id=deterministic_event_id(CalendarBusyChanged.TYPE, business_id,
                                            now.isoformat(), fingerprint))])
    log.info("calendar: busy times of business %s changed (%d ranges); published",
             business_id, len(ranges))
    return 1


async def next_due(session: AsyncSession) -> datetime | None:
    """The next poll of a business with a calendar (the scenario clock stops there)."""
    due: datetime | None = await session.scalar(
        select(func.min(CalendarBusy.next_poll_at)).where(CalendarBusy.calendar_id.is_not(None)))
    return due


async def _run(wiring: Wiring, deps: CalendarDeps) -> int:
    return await poll_busy(wiring.sessions, wiring.clock, deps)


POLL_BUSY: ScheduledJob[CalendarDeps] = ScheduledJob(name="poll_busy", run=_run,
                                                     next_due=next_due)
