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
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import OFFERED
from libs.db.direct import Db, Direct
from libs.timers import service as timers
from services.fsm import bookings
from services.fsm.bookings import TurnBooking
from services.fsm.models import WaitlistEntry

if TYPE_CHECKING:
    from services.fsm.turns import Turn

log = logging.getLogger(__name__)

OWNER = "fsm"
OPENING = "waitlist_opening"
OFFER_LAPSE = "waitlist_offer_lapse"
RECHECK_AFTER = timedelta(minutes=5)
"""A time nobody could take because the first in line was mid-conversation is looked at
again this much later, while it is still ahead."""


_E = cast(Table, WaitlistEntry.__table__).c
# Built once, run through psycopg (`libs.db.direct`): a turn's effects run on a pooled
# connection or a session alike.
_JOIN = Direct.of(insert(WaitlistEntry).values(
    id=bindparam("id", type_=_E.id.type), business_id=bindparam("business_id"),
    customer_id=bindparam("customer_id"), service=bindparam("service"),
    starts_at=bindparam("starts_at"), ends_at=bindparam("ends_at"),
    created_at=bindparam("now", type_=_E.created_at.type),
    updated_at=bindparam("now", type_=_E.updated_at.type)).on_conflict_do_nothing())
_WAITING = Direct.of(select(exists().where(
    _E.business_id == bindparam("business_id"), _E.status == "waiting",
    _E.starts_at < bindparam("end", type_=_E.starts_at.type),
    _E.ends_at > bindparam("start", type_=_E.ends_at.type))))
_OFFERED = Direct.of(update(WaitlistEntry).where(_E.id == bindparam("entry_id")).values(
    status="offered", offer_booking_id=bindparam("booking_id"),
    offer_expires_at=bindparam("expires_at"), offers=_E.offers + 1,
    updated_at=bindparam("now")))
_OFFER_LOCKED = Direct.of(select(_E.business_id, _E.status, _E.offer_booking_id,
                                 _E.starts_at, _E.ends_at)
                          .where(_E.id == bindparam("entry_id")).with_for_update())
_ENDED = Direct.of(update(WaitlistEntry).where(_E.id == bindparam("entry_id")).values(
    status=bindparam("status"), updated_at=bindparam("now")))
_OFFERS_TO = Direct.of(select(_E.id).where(_E.customer_id == bindparam("customer_id"),
                                           _E.status == "offered"))
_LEAVE_ALL = Direct.of(update(WaitlistEntry).where(
    _E.customer_id == bindparam("customer_id"), _E.status == "waiting")
    .values(status="opted_out", updated_at=bindparam("now")))


async def join(turn: Turn, service: str, start: datetime, end: datetime) -> None:
    await _JOIN.rowcount(turn.db, {
        "id": uuid.uuid4(), "business_id": turn.profile.id, "customer_id": turn.customer.id,
        "service": service, "starts_at": start, "ends_at": end, "now": turn.now})


async def opened(db: Db, business_id: str, start: datetime, end: datetime,
                 now: datetime) -> None:
    """Capacity at `[start, end)` was freed: if anyone waits for a time there, look now."""
    if end <= now:
        return
    if await _WAITING.scalar(db, {"business_id": business_id, "start": start, "end": end}):
        await schedule_opening(db, business_id, start, end, now)


async def schedule_opening(db: Db, business_id: str, start: datetime,
                           end: datetime, due: datetime) -> None:
    await timers.schedule(db, owner=OWNER, kind=OPENING,
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
    await bookings.add(turn.db, TurnBooking(
        id=booking_id, reference=f"W{secrets.token_hex(4).upper()}",
        business_id=turn.profile.id, customer_id=turn.customer.id, service=service,
        resource=resource, starts_at=start, ends_at=end,
        status=OFFERED,  # type: ignore[arg-type]  # a status of the row, not of a booking
        deposit_status="none", hold_expires_at=expires_at, created_at=turn.now,
        updated_at=turn.now))
    await _OFFERED.rowcount(turn.db, {"entry_id": entry_id, "booking_id": booking_id,
                                      "expires_at": expires_at, "now": turn.now})
    turn.timers.set(timers.NewTimer(OFFER_LAPSE, f"{OFFER_LAPSE}:{entry_id}", expires_at,
                                    {"entry_id": str(entry_id)}))


async def end_offer(turn: Turn, entry_id: uuid.UUID, status: str) -> None:
    """The offer ends `booked`, `declined` or `lapsed`: its held time is let go, and unless
    the customer booked it, the next in line is looked for."""
    entry = await _OFFER_LOCKED.first(turn.db, {"entry_id": entry_id})
    if entry is None or entry.status != "offered":
        return
    if entry.offer_booking_id is not None:
        await bookings.drop_offered(turn.db, entry.offer_booking_id)
    await _ENDED.rowcount(turn.db, {"entry_id": entry_id, "status": status, "now": turn.now})
    turn.timers.drop(f"{OFFER_LAPSE}:{entry_id}")
    if status != "booked":
        await opened(turn.db, entry.business_id, entry.starts_at, entry.ends_at, turn.now)


async def leave_all(turn: Turn) -> None:
    """Opt-out: the customer's entries end; a time on offer to them goes to the next."""
    for (entry_id,) in await _OFFERS_TO.all(turn.db, {"customer_id": turn.customer.id}):
        await end_offer(turn, entry_id, "opted_out")
    await _LEAVE_ALL.rowcount(turn.db, {"customer_id": turn.customer.id, "now": turn.now})
