"""What staff do to a booking on the customer's behalf through the admin API (docs/admin.md):
cancel it, move it, send its reminder again. The customer is told as after their own
cancel or move; a move fsm can no longer make is reported to staff instead.

A conversation that was about that booking (confirming its cancel or move, paying for it,
choosing it from a list) is over: it returns to IDLE. Any other conversation goes on where
it was.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from libs.business.deposits import deposit_for
from libs.business.profile import BusinessProfile, Service
from services.fsm import availability as av, replies_staff
from services.fsm.machine import model as m
from services.fsm.machine.attendance import send_reminder
from services.fsm.machine.cancel import refund_due

MoveRefusal = av.Reason | Literal["needs_deposit", "not_movable"]


def move_verdict(profile: BusinessProfile, service: Service, start: datetime, now: datetime,
                 busy: list[av.Busy], paid: Decimal) -> av.Bookable | MoveRefusal:
    """May staff move a booking of `service`, whose paid deposit is `paid`, to `start`
    (naive: business-local wall time; aware: that instant)? The rules of a customer's move
    (availability, the booking itself not counted in `busy`), except that no deposit top-up
    is asked: a time that needs more deposit is refused. The admin API answers with this
    before it asks, and fsm checks again when it moves."""
    verdict = av.check(profile, service, start, now, busy)
    if not verdict.ok:
        return verdict.reason
    if deposit_for(profile, service, verdict.start) > paid:
        return "needs_deposit"
    return verdict


def paid_deposit(booking: m.BookingView) -> Decimal:
    return (booking.deposit_amount or Decimal(0)) if booking.deposit_status == "paid" \
        else Decimal(0)


def _about(conv: m.Conversation, booking_id: object) -> bool:
    ctx = conv.context
    return ctx.booking_id == booking_id or booking_id in ctx.candidates


def _after(conv: m.Conversation, booking_id: object, *effects: m.Effect) -> m.Outcome:
    if _about(conv, booking_id):
        return m.fresh(*effects)
    if conv.context.reminded == booking_id:  # its reminder's C/R/X no longer applies
        conv = replace(conv, context=replace(conv.context, reminded=None))
    return m.Outcome(conv, tuple(effects))


def staff_cancel(conv: m.Conversation, event: m.StaffCancel, world: m.World) -> m.Outcome:
    """Cancel as the customer's own cancel does (refund or forfeit, late-cancel record), and
    tell them. A booking no longer live changes nothing."""
    booking = world.booking(event.booking_id)
    if booking is None or booking.status not in ("held", "confirmed"):
        return m.Outcome(conv)
    paid = booking.deposit_amount if booking.deposit_status == "paid" else None
    refund = paid is not None and (event.refund if event.refund is not None
                                   else refund_due(booking, world))
    text = replies_staff.staff_cancelled(world.profile, booking.service,
                                         world.local(booking.start), paid, refund, event.note)
    return _after(conv, booking.id, m.CancelBooking(booking.id, refund, by="staff"),
                  m.Reply(text))


def staff_move(conv: m.Conversation, event: m.StaffMove, world: m.World) -> m.Outcome:
    """Move a confirmed booking still ahead, checked again now (the admin API checked before
    asking; the time may have gone since): the customer is told, or staff are told why not."""
    booking = world.booking(event.booking_id)
    service = world.profile.service_by_name(booking.service) if booking else None
    if booking is None:
        return m.Outcome(conv)
    if service is None or booking.status != "confirmed" or booking.start <= world.now:
        return m.Outcome(conv, (m.AlertStaff(replies_staff.staff_move_refused(
            booking.reference, world.local(event.start), "not_movable")),))
    verdict = move_verdict(world.profile, service, event.start, world.now,
                           world.busy_without(booking.id), paid_deposit(booking))
    if not isinstance(verdict, av.Bookable):
        return m.Outcome(conv, (m.AlertStaff(replies_staff.staff_move_refused(
            booking.reference, world.local(event.start), verdict)),))
    move = m.RescheduleBooking(booking.id, verdict.start_utc, verdict.end_utc, verdict.resource)
    text = replies_staff.staff_moved(world.profile, service.name, verdict.start,
                                     booking.reference, event.note)
    return _after(conv, booking.id, move, m.Reply(text))


def staff_remind(conv: m.Conversation, event: m.StaffRemind, world: m.World) -> m.Outcome:
    """The reminder again, as the reminders service sends it (only for a booking still
    confirmed and ahead); the customer's C, R or X is then about it."""
    booking = world.booking(event.booking_id)
    if booking is None:
        return m.Outcome(conv)
    return send_reminder(conv, m.ReminderArrived(booking.id, booking.start), world)
