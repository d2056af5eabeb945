"""Deposits: the checkout link, a payment (on time, or late for an expired hold), and a
hold that lapses unpaid."""

from __future__ import annotations

from datetime import timedelta

from services.fsm import availability as av
from services.fsm import replies
from services.fsm.machine import model as m


def send_checkout(conv: m.Conversation, event: m.CheckoutReady, world: m.World) -> m.Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.status != "held":
        return m.Outcome(conv)
    hold_until = world.local(world.now + timedelta(minutes=world.profile.deposits.hold_minutes))
    text = replies.checkout(world.profile, booking.service, world.local(booking.start),
                            event.amount, event.url, hold_until)
    ctx = m.Context(booking_id=event.booking_id) if conv.state in (
        m.State.IDLE, m.State.PAYMENT_PENDING) else conv.context
    state = m.State.PAYMENT_PENDING if conv.state == m.State.IDLE else conv.state
    return m.goto(state, ctx, m.Reply(text))


def deposit_paid(conv: m.Conversation, event: m.DepositPaid, world: m.World) -> m.Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.deposit_status == "paid":
        return m.Outcome(conv)
    done = conv.state == m.State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    after = m.Conversation() if done else conv
    start = world.local(booking.start)
    if booking.status == "held":
        return m.Outcome(after, (m.ConfirmBooking(event.booking_id, booking.resource),
                               m.Reply(replies.deposit_received(booking.service, start,
                                                              booking.reference))))
    if booking.status == "expired":  # a late payment: confirm only if the slot is still free
        resource = av.free_resource(world.profile, booking.start, booking.end,
                                    world.busy_without(event.booking_id))
        if resource is not None:
            return m.Outcome(after, (m.ConfirmBooking(event.booking_id, resource),
                                   m.Reply(replies.deposit_received(booking.service, start,
                                                                  booking.reference))))
        return m.Outcome(after, (
            m.RefundLatePayment(event.booking_id, event.amount),
            m.Reply(replies.late_payment_refunded(world.profile, booking.service, start,
                                                event.amount)),
            m.AlertStaff(replies.staff_late_refund(world.customer, booking.service, start))))
    return m.Outcome(conv)


def hold_lapsed(conv: m.Conversation, event: m.HoldLapsed, world: m.World) -> m.Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.status != "held":
        return m.Outcome(conv)
    done = conv.state == m.State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    return m.Outcome(m.Conversation() if done else conv, (
        m.ExpireBooking(event.booking_id),
        m.Reply(replies.hold_expired(world.profile, booking.service, world.local(booking.start),
                                   booking.deposit_paid))))
