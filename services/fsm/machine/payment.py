"""Deposits: the checkout link, a payment (on time, or late for an expired hold), and a
hold that lapses unpaid."""

from __future__ import annotations

from datetime import timedelta

from services.fsm import availability as av
from services.fsm import replies
from services.fsm.machine.model import (
    AlertStaff,
    CheckoutReady,
    ConfirmBooking,
    Context,
    Conversation,
    DepositPaid,
    ExpireBooking,
    HoldLapsed,
    Outcome,
    RefundLatePayment,
    Reply,
    State,
    World,
    goto,
)


def send_checkout(conv: Conversation, event: CheckoutReady, world: World) -> Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.status != "held":
        return Outcome(conv)
    hold_until = world.local(world.now + timedelta(minutes=world.profile.deposits.hold_minutes))
    text = replies.checkout(world.profile, booking.service, world.local(booking.start),
                            event.amount, event.url, hold_until)
    ctx = Context(booking_id=event.booking_id) if conv.state in (
        State.IDLE, State.PAYMENT_PENDING) else conv.context
    state = State.PAYMENT_PENDING if conv.state == State.IDLE else conv.state
    return goto(state, ctx, Reply(text))


def deposit_paid(conv: Conversation, event: DepositPaid, world: World) -> Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.deposit_status == "paid":
        return Outcome(conv)
    done = conv.state == State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    after = Conversation() if done else conv
    start = world.local(booking.start)
    if booking.status == "held":
        return Outcome(after, (ConfirmBooking(event.booking_id, booking.resource),
                               Reply(replies.deposit_received(booking.service, start,
                                                              booking.reference))))
    if booking.status == "expired":  # a late payment: confirm only if the slot is still free
        resource = av.free_resource(world.profile, booking.start, booking.end,
                                    world.busy_without(event.booking_id))
        if resource is not None:
            return Outcome(after, (ConfirmBooking(event.booking_id, resource),
                                   Reply(replies.deposit_received(booking.service, start,
                                                                  booking.reference))))
        return Outcome(after, (
            RefundLatePayment(event.booking_id, event.amount),
            Reply(replies.late_payment_refunded(world.profile, booking.service, start,
                                                event.amount)),
            AlertStaff(replies.staff_late_refund(world.customer, booking.service, start))))
    return Outcome(conv)


def hold_lapsed(conv: Conversation, event: HoldLapsed, world: World) -> Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.status != "held":
        return Outcome(conv)
    done = conv.state == State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    return Outcome(Conversation() if done else conv, (
        ExpireBooking(event.booking_id),
        Reply(replies.hold_expired(world.profile, booking.service, world.local(booking.start),
                                   booking.deposit_paid))))
