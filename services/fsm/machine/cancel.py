"""Cancelling: pick the booking (a numbered list when there are several), restate it, and
cancel on "yes" under the refund-or-forfeit rule (`cancellation.free_until_hours`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from services.fsm import replies
from services.fsm.machine import model as m
from services.fsm.machine.booking import drop_request
from services.fsm.machine.talk import not_understood, reprompt


def refund_due(booking: m.BookingView, world: m.World) -> bool:
    hours = world.profile.cancellation.free_until_hours
    return booking.start - world.now >= timedelta(hours=hours)


def confirm_cancel_of(booking: m.BookingView, world: m.World) -> m.Outcome:
    paid = booking.deposit_amount if booking.deposit_status == "paid" else None
    text = replies.confirm_cancel(world.profile, booking.service, world.local(booking.start),
                                  paid, refund_due(booking, world))
    return m.goto(m.State.CANCEL_CONFIRM, m.Context(booking_id=booking.id),
                  m.Reply(text, choices=replies.yes_no()))


_ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3,
             "3rd": 3, "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5,
             "five": 5}
_NUMBERED = re.compile(
    r"^(?:the |number |no\.? ?|# ?|option |item )?(\d{1,2}|[a-z0-9]+?)(?:\)|\.)?"
    r"(?: (?:one|please|pls|appointment|booking))?[.!]?$")


def list_number(text: str, count: int) -> int | None:
    """The item a reply to a numbered list names: "2", "#2", "the second one", "last". A
    bare number answering the list is that item, not a time (docs/conversations.md)."""
    words = " ".join(text.lower().replace("-", " ").split())
    if words in ("last", "the last one", "last one", "the last"):
        return count
    match = _NUMBERED.match(words)
    if match is None:
        return None
    token = match.group(1)
    number = int(token) if token.isdigit() else _ORDINALS.get(token)
    return number if number is not None and 1 <= number <= count else None


def pick(options: Sequence[m.BookingView], said: m.CustomerSaid, world: m.World, *,
         by_when: bool = True) -> m.BookingView | None:
    """The booking a message points at: its number in the list, or its service, date or
    time (`by_when=False` when a date or time in the message is a new one, as in "move my
    haircut to friday")."""
    if len(options) == 1:
        return options[0]
    number = list_number(said.text, len(options))
    if number is not None:
        return options[number - 1]
    matches = list(options)
    narrowed = False
    if by_when and said.date is not None:
        matches = [b for b in matches if world.local(b.start).date() == said.date]
        narrowed = True
    if by_when and said.time is not None:
        matches = [b for b in matches if world.local(b.start).time() == said.time]
        narrowed = True
    service = world.profile.service_by_name(said.service) if said.service else None
    if service is not None:
        matches = [b for b in matches if b.service == service.name]
        narrowed = True
    return matches[0] if narrowed and len(matches) == 1 else None


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


def choosing(conv: m.Conversation) -> bool:
    """A numbered list is open: the next message may answer it."""
    return conv.context.booking_id is None and bool(conv.context.candidates)


def choose_cancel_or_not_understood(conv: m.Conversation, said: m.CustomerSaid,
                                    world: m.World) -> m.Outcome:
    """A message nlu could not place may still answer the list ("the second one")."""
    if choosing(conv) and list_number(said.text, len(conv.context.candidates)) is not None:
        return choose_or_confirm_cancel(conv, said, world)
    return not_understood(conv, said, world)


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
