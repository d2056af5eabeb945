"""Cancelling: pick the booking (a numbered list when there are several), restate it, and
cancel on "yes" under the refund-or-forfeit rule (`cancellation.free_until_hours`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.fsm import replies
from services.fsm.machine.booking import drop_request
from services.fsm.machine.model import (
    BookingView,
    CancelBooking,
    Context,
    Conversation,
    CustomerSaid,
    Outcome,
    Reply,
    State,
    World,
    fresh,
    goto,
)
from services.fsm.machine.talk import reprompt


def refund_due(booking: BookingView, world: World) -> bool:
    hours = world.profile.cancellation.free_until_hours
    return booking.start - world.now >= timedelta(hours=hours)


def confirm_cancel_of(booking: BookingView, world: World) -> Outcome:
    paid = booking.deposit_amount if booking.deposit_status == "paid" else None
    text = replies.confirm_cancel(world.profile, booking.service, world.local(booking.start),
                                  paid, refund_due(booking, world))
    return goto(State.CANCEL_CONFIRM, Context(booking_id=booking.id), Reply(text))


def pick(options: Sequence[BookingView], said: CustomerSaid,
          world: World) -> BookingView | None:
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


def start_cancel(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    upcoming = world.upcoming()
    if not upcoming:
        return fresh(Reply(replies.nothing_to_change("cancel")))
    chosen = pick(upcoming, said, world)
    if chosen is not None:
        return confirm_cancel_of(chosen, world)
    return goto(State.CANCEL_CONFIRM, Context(candidates=tuple(b.id for b in upcoming)),
                 Reply(replies.which_booking("cancel", [(b.service, world.local(b.start))
                                                        for b in upcoming])))


def choose_or_confirm_cancel(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
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
            return fresh(Reply(replies.nothing_to_change("cancel")))
        refund = booking.deposit_status == "paid" and refund_due(booking, world)
        paid = booking.deposit_amount if booking.deposit_status == "paid" else None
        return fresh(CancelBooking(booking.id, refund),
                      Reply(replies.cancelled(world.profile, booking.service,
                                              world.local(booking.start), paid, refund)))
    return reprompt(conv, said, world)


def keep_booking(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    booking = world.booking(conv.context.booking_id)
    if booking is None:
        return fresh(Reply("OK, nothing was changed."))
    if booking.status == "held":  # the customer still wants the held slot: keep waiting
        return goto(State.PAYMENT_PENDING, Context(booking_id=booking.id),
                     Reply(replies.waiting_for_payment(world.profile, booking.service,
                                                       world.local(booking.start),
                                                       booking.deposit_amount)))
    return fresh(Reply(replies.kept(booking.service, world.local(booking.start))))


def cancel_while_collecting(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    """Without a booking yet, "cancel" drops the request; with upcoming ones, it means them."""
    if world.upcoming():
        return start_cancel(Conversation(), said, world)
    return drop_request(conv, said, world)


def cancel_held(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    booking = world.booking(conv.context.booking_id)
    if booking is None:
        return start_cancel(Conversation(), said, world)
    return confirm_cancel_of(booking, world)
