"""Booking rows as a turn's effects write them: columns and statements built once, not ORM
objects.

A turn that books, confirms, moves or cancels used to load the booking into the session and
let the unit of work write it back; that bookkeeping cost more CPU than the statements
(docs/scaling.md, "The ORM's unit of work"). Here a booking is a `TurnBooking` read locked
(`locked`), changed by the effect, and written in one UPDATE when the effect is done
(`changing`), or inserted whole (`add`). Every statement is a `Direct` one, so a turn runs
on a session or on a pooled connection alike (`libs.db.direct.Db`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import NoResultFound

from libs.contracts.vocabulary import BookingStatus, DepositStatus, NoShowRisk
from libs.db.direct import Db, Direct
from services.fsm.models import Booking

BOOKINGS = cast(Table, Booking.__table__)
_B = BOOKINGS.c


@dataclass
class TurnBooking:
    """A booking row's columns (all but `seq`, which the database numbers)."""

    id: uuid.UUID
    reference: str
    business_id: str
    customer_id: uuid.UUID
    service: str
    resource: int
    starts_at: datetime
    ends_at: datetime
    status: BookingStatus
    deposit_status: DepositStatus
    created_at: datetime
    updated_at: datetime
    deposit_amount: Decimal | None = None
    deposit_paid_amount: Decimal | None = None
    deposit_requests: int = 0
    hold_expires_at: datetime | None = None
    holds_for: uuid.UUID | None = None
    paid_with: uuid.UUID | None = None
    attendance_confirmed: bool = False
    no_show_risk: NoShowRisk | None = None


_NAMES = [f.name for f in fields(TurnBooking)]
_LOCK = Direct.of(select(*(_B[name] for name in _NAMES))
                  .where(_B.id == bindparam("booking_id")).with_for_update())
_ADD = Direct.of(insert(BOOKINGS).values(
    {_B[name]: bindparam(name, type_=_B[name].type) for name in _NAMES}))
_SAVE = Direct.of(update(BOOKINGS).where(_B.id == bindparam("booking_id")).values(
    {_B[name]: bindparam(f"new_{name}", type_=_B[name].type)
     for name in _NAMES if name != "id"}))
_DROP_MOVE_HOLD = Direct.of(delete(BOOKINGS).where(_B.holds_for == bindparam("booking_id")))
_RELEASE_MOVE_HOLD = Direct.of(
    update(BOOKINGS).where(_B.holds_for == bindparam("booking_id"), _B.status == "held")
    .values(status="expired", deposit_status="expired", updated_at=bindparam("now"))
    .returning(_B.starts_at, _B.ends_at))
_DROP_OFFERED = Direct.of(delete(BOOKINGS).where(_B.id == bindparam("booking_id"),
                                                 _B.status == "offered"))


async def locked(db: Db, booking_id: uuid.UUID) -> TurnBooking:
    """The booking, locked to the end of the transaction; `NoResultFound` if there is none
    (the machine only names bookings the world showed it)."""
    row = await _LOCK.first(db, {"booking_id": booking_id})
    if row is None:
        raise NoResultFound(f"no booking {booking_id}")
    return TurnBooking(*row)


@contextlib.asynccontextmanager
async def changing(db: Db, booking_id: uuid.UUID) -> AsyncIterator[TurnBooking]:
    """The booking, locked, to change in the block; written in one statement when the block
    ends, if anything changed."""
    booking = await locked(db, booking_id)
    as_read = replace(booking)
    yield booking
    if booking != as_read:
        await save(db, booking)


async def save(db: Db, booking: TurnBooking) -> None:
    """Every column as `booking` has it (the row is this transaction's: locked or added)."""
    await _SAVE.rowcount(db, {"booking_id": booking.id, **{
        f"new_{name}": getattr(booking, name) for name in _NAMES if name != "id"}})


async def add(db: Db, booking: TurnBooking) -> None:
    """A new booking row: the exclusion constraint refuses one that overlaps a live
    booking here and now (`IntegrityError`)."""
    await _ADD.rowcount(db, {name: getattr(booking, name) for name in _NAMES})


async def drop_move_hold(db: Db, booking_id: uuid.UUID) -> None:
    """The row holding a new time for moving `booking_id`, if there is one."""
    await _DROP_MOVE_HOLD.rowcount(db, {"booking_id": booking_id})


async def release_move_hold(db: Db, booking_id: uuid.UUID, now: datetime
                            ) -> list[tuple[datetime, datetime]]:
    """The unpaid held new time of a move of `booking_id` expires: the times freed."""
    return [(start, end) for start, end in await _RELEASE_MOVE_HOLD.all(
        db, {"booking_id": booking_id, "now": now})]


async def drop_offered(db: Db, booking_id: uuid.UUID) -> None:
    """The row keeping a time on offer to a waiting customer, if it still does."""
    await _DROP_OFFERED.rowcount(db, {"booking_id": booking_id})
