"""The waitlist's I/O: entries, the rows holding an offered time, and openings.

Every change that frees capacity (a cancellation, an expired hold, a booking moved away, an
unpaid top-up released, an offer declined or lapsed) schedules an `opening` timer for that
time, in the same transaction. The timer fires once however many fsm replicas run; it walks
the entries for that time in the order they joined and plays each customer's turn with the
opening, locking their conversation; the machine (`machine/waitlist.py`) decides whether
they can take it now. The offered time is held by a booking row of status `offered`, which
the exclusion constraint counts, so an offer never breaks capacity and two openings can
never hold one time twice; one offer per customer at a time is a unique index.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import OFFERED
from libs.timers import service as timers
from services.fsm.models import Booking, WaitlistEntry

if TYPE_CHECKING:
    from services.fsm.turns import Turn

log = logging.getLogger(__name__)

OWNER = "fsm"
OPENING = "waitlist_opening"
OFFER_LAPSE = "waitlist_offer_lapse"
RECHECK_AFTER = timedelta(minutes=5)
"""A time nobody could take because the first in line was mid-conversation is looked at
again this much later, while it is still ahead."""


async def join(turn: Turn, service: str, start: datetime, end: datetime) -> None:
    await turn.session.execute(insert(WaitlistEntry).values(
        id=uuid.uuid4(), business_id=turn.profile.id, customer_id=turn.customer.id,
        service=service, starts_at=start, ends_at=end, created_at=turn.now,
        updated_at=turn.now).on_conflict_do_nothing())


async def opened(session: AsyncSession, business_id: str, start: datetime, end: datetime,
                 now: datetime) -> None:
    """Capacity at `[start, end)` was freed: if anyone waits for a time there, look now."""
    if end <= now:
        return
    waiting = await session.scalar(select(exists().where(
        WaitlistEntry.business_id == business_id, WaitlistEntry.status == "waiting",
        WaitlistEntry.starts_at < end, WaitlistEntry.ends_at > start)))
    if waiting:
        await schedule_opening(session, business_id, start, end, now)


async def schedule_opening(session: AsyncSession, business_id: str, start: datetime,
                           end: datetime, due: datetime) -> None:
    await timers.schedule(session, owner=OWNER, kind=OPENING,
                          key=f"{OPENING}:{uuid.uuid4()}", business_id=business_id,
                          due_at=due, payload={"start": start.isoformat(),
                                               "end": end.isoformat()})


def after_quiet_hours(profile: BusinessProfile, now: datetime) -> datetime | None:
    """When quiet hours (the reminders' window) end, if `now` is inside them."""
    local = now.astimezone(profile.tz)
    if not profile.reminders.is_quiet(local.time()):
        return None
    end: time = profile.reminders.quiet_hours[1]
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=profile.tz)


async def waiting_for(session: AsyncSession, business_id: str, start: datetime,
                      end: datetime) -> list[WaitlistEntry]:
    """Entries wanting a time that overlaps `[start, end)`, in the order they joined, locked
    so two openings at once go through them one after the other."""
    return list((await session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.business_id == business_id, WaitlistEntry.status == "waiting",
            WaitlistEntry.starts_at < end, WaitlistEntry.ends_at > start)
        .order_by(WaitlistEntry.seq).with_for_update())).all())


async def has_offer(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(
        WaitlistEntry.customer_id == customer_id, WaitlistEntry.status == "offered"))))


async def hold_offer(turn: Turn, entry_id: uuid.UUID, booking_id: uuid.UUID, service: str,
                     start: datetime, end: datetime, resource: int,
                     expires_at: datetime) -> None:
    turn.session.add(Booking(
        id=booking_id, reference=f"W{secrets.token_hex(4).upper()}",
        business_id=turn.profile.id, customer_id=turn.customer.id, service=service,
        resource=resource, starts_at=start, ends_at=end, status=OFFERED,
        deposit_status="none", hold_expires_at=expires_at, created_at=turn.now,
        updated_at=turn.now))
    await turn.session.flush()
    await turn.session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id).values(
        status="offered", offer_booking_id=booking_id, offer_expires_at=expires_at,
        offers=WaitlistEntry.offers + 1, updated_at=turn.now))
    turn.timers.set(timers.NewTimer(OFFER_LAPSE, f"{OFFER_LAPSE}:{entry_id}", expires_at,
                                    {"entry_id": str(entry_id)}))


async def end_offer(turn: Turn, entry_id: uuid.UUID, status: str) -> None:
    """The offer ends `booked`, `declined` or `lapsed`: its held time is let go, and unless
    the customer booked it, the next in line is looked for."""
    entry = await turn.session.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is None or entry.status != "offered":
        return
    await turn.session.execute(delete(Booking).where(
        Booking.id == entry.offer_booking_id, Booking.status == OFFERED))
    entry.status, entry.updated_at = status, turn.now
    turn.timers.drop(f"{OFFER_LAPSE}:{entry_id}")
    if status != "booked":
        await opened(turn.session, entry.business_id, entry.starts_at, entry.ends_at, turn.now)


async def leave_all(turn: Turn) -> None:
    """Opt-out: the customer's entries end; a time on offer to them goes to the next."""
    offered = (await turn.session.scalars(select(WaitlistEntry.id).where(
        WaitlistEntry.customer_id == turn.customer.id,
        WaitlistEntry.status == "offered"))).all()
    for entry_id in offered:
        await end_offer(turn, entry_id, "opted_out")
    await turn.session.execute(update(WaitlistEntry).where(
        WaitlistEntry.customer_id == turn.customer.id, WaitlistEntry.status == "waiting")
        .values(status="opted_out", updated_at=turn.now))
