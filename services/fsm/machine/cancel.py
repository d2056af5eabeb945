"""Cancelling: pick the booking (a numbered list when there are several), restate it, and
cancel on "yes" under the refund-or-forfeit rule (`cancellation.free_until_hours`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.fsm import replies
from services.fsm.machine import model as m
from services.fsm.machine.booking import drop_request
from services.fsm.machine.talk import reprompt


def refund_due(booking: m.BookingView, world: m.World) -> bool:
    hours = world.profile.cancellation.free_until_hours
    return booking.start - world.now >= timedelta(hours=hours)


def confirm_cancel_of(booking: m.BookingView, world: m.World) -> m.Outcome:
    paid = booking.deposit_amount if booking.deposit_status == "paid" else None
    text = replies.confirm_cancel(world.profile, booking.service, world.local(booking.start),
                                  paid, refund_due(booking, world))
    return m.goto(m.State.CANCEL_CONFIRM, m.Context(booking_id=booking.id), m.Reply(text))


def pick(options: Sequence[m.BookingView], said: m.CustomerSaid,
          world: m.World) -> m.BookingView | None:
    """The booking a message points at: by its date, its time, or its number in a list."""
    matches = list(options)
    if said.date is not None:
        matches = [b for b in matches if world.local(b.start).date() == said.date]
    if said.time is not None:
        matches = [b for b in matches if world.local(b.start).time() == said.time]
    if said.service is not None:
        service = world.profile.service_by_name(said.service)
        by_service = [b for b in matches if service and b.service == service.name]
        matches = by_service or matches
    if len(options) == 1:
        return options[0]
    if len(matches) == 1 and said.has_slots():
        return matches[0]
    digits = [int(w) for w in said.text.replace(")", " ").split() if w.isdigit()]
    if len(digits) == 1 and 1 <= digits[0] <= len(options):
        return options[digits[0] - 1]
    return None


def start_cancel(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    upcoming = world.upcoming()
    if not upcoming:
        return m.fresh(m.Reply(replies.nothing_to_change("cancel")))
    chosen = pick(upcoming, said, world)
    if chosen is not None:
        return confirm_cancel_of(chosen, world)
    return m.goto(m.State.CANCEL_CONFIRM, m.Context(candidates=tuple(b.id for b in upcoming)),
                 m.Reply(replies.which_booking("cancel", [(b.service, world.local(b.start))
                                                        for b in upcoming])))


def choose_or_confirm_cancel(conv: m.Conversation, said: m.CustomerSaid,
                             world: m.World) -> m.Outcome:
    ctx = conv.context
    if ctx.booking_id is None:
        options = [b for b in world.upcoming() if b.id in ctx.candidates]
        chosen = pick(options, said, world)
        if chosen is None:
            return reprompt(conv, said, world)
        return confirm_cancel_of(chosen, world)
    if said.intent in ("affirm", "cancel") and not said.has_slots():
        booking = world.booking(ctx.booking_id)
        if booking is None or booking.status not in ("held", "confirmed"):
            return m.fresh(m.Reply(replies.nothing_to_change("cancel")))
        refund = booking.deposit_status == "paid" and refund_due(booking, world)
        paid = booking.deposit_amount if booking.deposit_status == "paid" else None
        return m.fresh(m.CancelBooking(booking.id, refund),
                      m.Reply(replies.cancelled(world.profile, booking.service,
                                              world.local(booking.start), paid, refund)))
    return reprompt(conv, said, world)


def keep_booking(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    booking = world.booking(conv.context.booking_id)
    if booking is None:
        return m.fresh(m.Reply("OK, nothing was changed."))
    if booking.status == "held":  # the customer still wants the held slot: keep waiting
        return m.goto(m.State.PAYMENT_PENDING, m.Context(booking_id=booking.id),
                     m.Reply(replies.waiting_for_payment(world.profile, booking.service,
                                                       world.local(booking.start),
                                                       booking.deposit_amount)))
    return m.fresh(m.Reply(replies.kept(booking.service, world.local(booking.start))))


def cancel_while_collecting(conv: m.Conversation, said: m.CustomerSaid,
                            world: m.World) -> m.Outcome:
    """Without a booking yet, "cancel" drops the request; with upcoming ones, it means them."""
    if world.upcoming():
        return start_cancel(m.Conversation(), said, world)
    return drop_request(conv, said, world)


def cancel_held(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    booking = world.booking(conv.context.booking_id)
    if booking is None:
        return start_cancel(m.Conversation(), said, world)
    return confirm_cancel_of(booking, world)
