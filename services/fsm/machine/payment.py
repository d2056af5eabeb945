"""Deposits: the checkout link, a payment (on time, or late for an expired hold), and a
hold that lapses unpaid. A payment may be for a new booking (with the one booked together
with it, when two services share one checkout) or for the difference a move needs."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.fsm import availability as av, replies, replies_more as more
from services.fsm.machine import model as m


def _hold_until(world: m.World) -> datetime:
    return world.local(world.now + timedelta(minutes=world.profile.deposits.hold_minutes))


def send_checkout(conv: m.Conversation, event: m.CheckoutReady, world: m.World) -> m.Outcome:
    booking = world.booking(event.booking_id)
    if booking is None:
        return m.Outcome(conv)
    if booking.move is not None and booking.move.status == "held":
        text = more.move_checkout(world.profile, booking.service, world.local(booking.move.start),
                                  world.local(booking.start), event.amount, event.url,
                                  _hold_until(world))
    elif booking.status == "held":
        bundle = world.bundle(booking.id)
        names = [b.service for b in bundle]
        text = replies.checkout(world.profile, names, world.local(booking.start),
                                event.amount, event.url, _hold_until(world))
    else:
        return m.Outcome(conv)
    ctx = m.Context(booking_id=event.booking_id) if conv.state in (
        m.State.IDLE, m.State.PAYMENT_PENDING) else conv.context
    state = m.State.PAYMENT_PENDING if conv.state == m.State.IDLE else conv.state
    return m.goto(state, ctx, m.Reply(text))


def deposit_paid(conv: m.Conversation, event: m.DepositPaid, world: m.World) -> m.Outcome:
    booking = world.booking(event.booking_id)
    if booking is None:
        return m.Outcome(conv)
    done = conv.state == m.State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    after = m.Conversation() if done else conv
    if booking.move is not None and booking.status == "confirmed":
        return _move_paid(after, booking, event, world)
    if booking.deposit_status == "paid":
        return m.Outcome(conv)
    bundle = [b for b in world.bundle(booking.id) if b.status == booking.status]
    start = world.local(booking.start)
    confirmed = replies.deposit_received([b.service for b in bundle], start,
                                         ", ".join(b.reference for b in bundle))
    if booking.status == "held":
        return m.Outcome(after, (*(m.ConfirmBooking(b.id, b.resource) for b in bundle),
                                 m.Reply(confirmed)))
    if booking.status == "expired":  # a late payment: confirm only if the time is still free
        resources = _free_again(world, bundle)
        if resources is not None:
            return m.Outcome(after, (*(m.ConfirmBooking(b.id, r)
                                       for b, r in zip(bundle, resources, strict=True)),
                                     m.Reply(confirmed)))
        return m.Outcome(after, (
            m.RefundLatePayment(event.booking_id, event.amount),
            m.Reply(replies.late_payment_refunded(world.profile, booking.service, start,
                                                  event.amount)),
            m.AlertStaff(replies.staff_late_refund(world.customer, booking.service, start))))
    return m.Outcome(conv)


def _free_again(world: m.World, bundle: list[m.BookingView]) -> list[int] | None:
    """A resource for each booking of a lapsed hold, if their times are all still free."""
    busy = world.busy_without()  # expired holds are not in it
    found: list[int] = []
    for b in bundle:
        resource = av.free_resource(world.profile, b.start, b.end, busy)
        if resource is None:
            return None
        found.append(resource)
        busy.append((resource, b.start, b.end))
    return found


def _move_paid(after: m.Conversation, booking: m.BookingView, event: m.DepositPaid,
               world: m.World) -> m.Outcome:
    """The difference for a move was paid: the booking moves (a late payment only if the new
    time is still free; otherwise the difference goes back and the booking stays)."""
    move = booking.move
    assert move is not None
    resource: int | None = move.resource
    if move.status != "held":  # late: the booking's own time does not block its move
        resource = av.free_resource(world.profile, move.start, move.end,
                                    world.busy_without(booking.id))
    new_start = world.local(move.start)
    if resource is None:
        old = world.local(booking.start)
        return m.Outcome(after, (
            m.RefundLatePayment(booking.id, event.amount, whole_deposit=False),
            m.Reply(more.move_late_refunded(world.profile, booking.service, old, new_start,
                                            event.amount)),
            m.AlertStaff(replies.staff_late_refund(world.customer, booking.service,
                                                   new_start))))
    return m.Outcome(after, (
        m.RescheduleBooking(booking.id, move.start, move.end, resource, move.top_up),
        m.Reply(more.move_paid(booking.service, new_start, booking.reference))))


def hold_lapsed(conv: m.Conversation, event: m.HoldLapsed, world: m.World) -> m.Outcome:
    booking = world.booking(event.booking_id)
    if booking is None:
        return m.Outcome(conv)
    done = conv.state == m.State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    after = m.Conversation() if done else conv
    if booking.move is not None and booking.move.status == "held":
        return m.Outcome(after, (
            m.ReleaseMove(booking.id),
            m.Reply(more.move_released(booking.service, world.local(booking.start),
                                       world.local(booking.move.start)))))
    if booking.status != "held":
        return m.Outcome(conv)
    bundle = [b for b in world.bundle(booking.id) if b.status == "held"]
    return m.Outcome(after, (
        *(m.ExpireBooking(b.id) for b in bundle),
        m.Reply(replies.hold_expired(world.profile, [b.service for b in bundle],
                                     world.local(booking.start)))))
