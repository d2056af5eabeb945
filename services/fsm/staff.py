"""What staff do to bookings outside a conversation: mark one `no_show` or `completed`
(`receptionist booking mark`, later the admin API). fsm owns the bookings, so this is fsm
code, run in the caller's transaction; the event it reports goes out through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.outbox import add_to_outbox
from libs.contracts import events as ev
from libs.contracts.registry import make_envelope
from libs.timers import service as timers
from services.fsm.effects import APPOINTMENT_OVER, OWNER, RISK_CHECK, booking_event
from services.fsm.models import Booking, Conversation, Customer

Outcome = Literal["no_show", "completed"]
OUTCOMES: tuple[Outcome, ...] = ("no_show", "completed")
_MARKABLE = ("confirmed", "completed", "no_show")


class MarkRefused(Exception):
    """The booking cannot be marked so (the message says why)."""


async def mark_booking(session: AsyncSession, reference: str, outcome: Outcome,
                       now: datetime) -> Booking:
    """Mark the booking with this reference; a mark may be corrected (completed <->
    no_show), and the customer's record follows. Marking it as it already is changes
    nothing."""
    booking = await session.scalar(select(Booking).where(
        Booking.reference == reference.strip().upper(), Booking.holds_for.is_(None))
        .with_for_update())
    if booking is None:
        raise MarkRefused(f"no booking with reference {reference!r}")
    if booking.status == outcome:
        return booking
    if booking.status not in _MARKABLE:
        raise MarkRefused(f"booking {booking.reference} is {booking.status}: only a confirmed "
                          "booking can be marked")
    if booking.starts_at > now:
        raise MarkRefused(f"booking {booking.reference} has not started yet "
                          f"({booking.starts_at.isoformat()})")
    customer = (await session.scalars(select(Customer).where(
        Customer.id == booking.customer_id).with_for_update())).one()
    if booking.status == "completed":
        customer.kept -= 1
    elif booking.status == "no_show":
        customer.no_shows -= 1
    if outcome == "completed":
        customer.kept += 1
    else:
        customer.no_shows += 1
    booking.status, booking.updated_at = outcome, now
    for kind in (RISK_CHECK, APPOINTMENT_OVER):  # nothing more happens to it by itself
        await timers.cancel(session, owner=OWNER, key=f"{kind}:{booking.id}")
    channel = await session.scalar(select(Conversation.channel).where(
        Conversation.customer_id == customer.id)) or "sms"
    event = booking_event(ev.BookingNoShow if outcome == "no_show" else ev.BookingCompleted,
                          booking, customer.address, channel)
    await add_to_outbox(session, [make_envelope(event, business_id=booking.business_id,
                                          occurred_at=now)])
    return booking
