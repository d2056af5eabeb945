"""Rescheduling: the same booking (same reference) moves to a new start, checked like a
new booking; a paid deposit stays with it and only a larger deposit's difference is asked
for."""

from __future__ import annotations

from dataclasses import replace

from services.fsm import availability as av
from services.fsm import replies
from services.fsm.machine.booking import advance, collect, refuse, top_up_for
from services.fsm.machine.cancel import keep_booking, pick
from services.fsm.machine.model import (
    Context,
    Conversation,
    CustomerSaid,
    Draft,
    Outcome,
    Reply,
    RescheduleBooking,
    State,
    World,
    fresh,
    goto,
)


def start_reschedule(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    upcoming = [b for b in world.upcoming() if b.status == "confirmed"]
    if not upcoming:
        return fresh(Reply(replies.nothing_to_change("move")))
    chosen = upcoming[0] if len(upcoming) == 1 else pick(upcoming, said, world)
    if chosen is None:
        chosen = upcoming[0]  # the next one; the customer sees which in the reply
    draft = Draft(service=chosen.service, date=said.date, time=said.time,
                  part_of_day=said.part_of_day)
    ctx = Context(draft=draft, booking_id=chosen.id)
    if said.date is None and said.time is None and said.part_of_day is None:
        return goto(State.RESCHEDULE_COLLECTING, ctx,
                     Reply(replies.ask_new_time(chosen.service, world.local(chosen.start))))
    if said.date is None:
        ctx = replace(ctx, draft=replace(draft, date=world.local(chosen.start).date()))
    return advance(Conversation(State.RESCHEDULE_COLLECTING, ctx), world)


def accept_move(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    profile, ctx = world.profile, conv.context
    booking = world.booking(ctx.booking_id)
    service = profile.service_by_name(ctx.draft.service or "")
    if booking is None or service is None or ctx.proposal is None:
        return fresh(Reply(replies.nothing_to_change("move")))
    busy = world.busy_without(ctx.booking_id)
    verdict = av.check(profile, service, ctx.proposal, world.now, busy)
    if not verdict.ok:
        reason = "taken" if verdict.reason == "fully_booked" else verdict.reason
        return refuse(State.RESCHEDULE_COLLECTING, ctx, world, service, ctx.proposal, reason,
                       busy)
    top_up = top_up_for(profile, service, verdict.start, booking)
    move = RescheduleBooking(booking.id, verdict.start_utc, verdict.end_utc,
                             verdict.resource, top_up)
    if top_up:
        # Held at the new time until the difference is paid; the link is the one reply.
        return goto(State.PAYMENT_PENDING, Context(booking_id=booking.id), move)
    return fresh(move, Reply(replies.moved(service.name, verdict.start, booking.reference)))


def decline_move(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    if said.has_slots():
        return collect(conv, said, world)
    return keep_booking(conv, said, world)


def reschedule_while_collecting(conv: Conversation, said: CustomerSaid,
                                world: World) -> Outcome:
    """"Move it to Friday" before anything is booked is a correction of the request."""
    if world.upcoming():
        return start_reschedule(Conversation(), said, world)
    return collect(conv, said, world)
