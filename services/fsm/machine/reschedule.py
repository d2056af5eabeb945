"""Rescheduling: the same booking (same reference) moves to a new start, checked like a
new booking. With several bookings the customer is asked which one, as for a cancel. A paid
deposit stays with the booking; when the new start needs more, only the difference is asked
for, and until it is paid the booking keeps its old time (docs/conversations.md,
"Rescheduling"): no path loses a confirmed booking.
"""

from __future__ import annotations

from dataclasses import replace

from services.fsm import availability as av, replies
from services.fsm.machine import model as m
from services.fsm.machine.booking import advance, collect, refuse, top_up_for
from services.fsm.machine.cancel import choosing, keep_booking, list_number, pick
from services.fsm.machine.talk import not_understood, reprompt


def movable(world: m.World) -> list[m.BookingView]:
    return [b for b in world.upcoming() if b.status == "confirmed"]


def start_reschedule(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    options = movable(world)
    if not options:
        return m.fresh(m.Reply(replies.nothing_to_change("move")))
    # A date or time in "move my haircut to friday" is the new one: pick by service only.
    chosen = pick(options, said, world, by_when=False)
    wanted = m.Draft(date=said.date, time=said.time, part_of_day=said.part_of_day,
                     zone=said.zone)
    if chosen is None:
        ctx = m.Context(draft=wanted, candidates=tuple(b.id for b in options))
        return m.goto(m.State.RESCHEDULE_COLLECTING, ctx, m.Reply(replies.which_booking(
            "move", [(b.service, world.local(b.start)) for b in options])))
    return move_chosen(chosen, wanted, world)


def move_chosen(chosen: m.BookingView, wanted: m.Draft, world: m.World) -> m.Outcome:
    """The booking is known: ask for the new time, or check the one already given."""
    draft = replace(wanted, service=chosen.service, service2=None, earliest=False)
    ctx = m.Context(draft=draft, booking_id=chosen.id)
    if draft.date is None and draft.time is None and draft.part_of_day is None:
        return m.goto(m.State.RESCHEDULE_COLLECTING, ctx,
                      m.Reply(replies.ask_new_time(chosen.service, world.local(chosen.start))))
    if draft.date is None and draft.time is not None:  # "move it to 4": the same day
        ctx = replace(ctx, draft=replace(draft, date=world.local(chosen.start).date()))
    return advance(m.Conversation(m.State.RESCHEDULE_COLLECTING, ctx), world)


def collect_move(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """While moving: first which booking (when asked), then its new time."""
    ctx = conv.context
    if ctx.booking_id is None and ctx.candidates:
        options = [b for b in movable(world) if b.id in ctx.candidates]
        chosen = pick(options, said, world)
        if chosen is None:
            return reprompt(conv, said, world)
        return move_chosen(chosen, ctx.draft, world)
    return collect(conv, said, world)


def choose_move_or_not_understood(conv: m.Conversation, said: m.CustomerSaid,
                                  world: m.World) -> m.Outcome:
    """A message nlu could not place may still answer the list ("the first one")."""
    if choosing(conv) and list_number(said.text, len(conv.context.candidates)) is not None:
        return collect_move(conv, said, world)
    return not_understood(conv, said, world)


def accept_move(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    profile, ctx = world.profile, conv.context
    booking = world.booking(ctx.booking_id)
    service = profile.service_by_name(ctx.draft.service or "")
    if booking is None or service is None or ctx.proposal is None:
        return m.fresh(m.Reply(replies.nothing_to_change("move")))
    busy = world.busy_without(ctx.booking_id)
    verdict = av.check(profile, service, ctx.proposal, world.now, busy)
    if not verdict.ok:
        reason = "taken" if verdict.reason == "fully_booked" else verdict.reason
        return refuse(m.State.RESCHEDULE_COLLECTING, ctx, world, service, ctx.proposal, reason,
                      busy)
    top_up = top_up_for(profile, service, verdict.start, booking)
    if top_up:
        # The new time is held and only the difference asked for; the checkout link is
        # the one reply. The booking stays at its old time until the difference is paid.
        return m.goto(m.State.PAYMENT_PENDING, m.Context(booking_id=booking.id),
                      m.HoldMove(booking.id, world.next_booking_id, verdict.start_utc,
                                 verdict.end_utc, verdict.resource, top_up))
    move = m.RescheduleBooking(booking.id, verdict.start_utc, verdict.end_utc, verdict.resource)
    return m.fresh(move, m.Reply(replies.moved(service.name, verdict.start, booking.reference)))


def decline_move(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    if said.has_slots():
        return collect(conv, said, world)
    return keep_booking(conv, said, world)


def reschedule_while_collecting(conv: m.Conversation, said: m.CustomerSaid,
                                world: m.World) -> m.Outcome:
    """"Move it to Friday" before anything is booked is a correction of the request."""
    if world.upcoming():
        return start_reschedule(m.Conversation(), said, world)
    return collect(conv, said, world)
