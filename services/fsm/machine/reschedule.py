"""Rescheduling: the same booking (same reference) moves to a new start, checked like a
new booking; a paid deposit stays with it and only a larger deposit's difference is asked
for."""

from __future__ import annotations

from dataclasses import replace

from services.fsm import availability as av
from services.fsm import replies
from services.fsm.machine import model as m
from services.fsm.machine.booking import advance, collect, refuse, top_up_for
from services.fsm.machine.cancel import keep_booking, pick


def start_reschedule(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    upcoming = [b for b in world.upcoming() if b.status == "confirmed"]
    if not upcoming:
        return m.fresh(m.Reply(replies.nothing_to_change("move")))
    chosen = upcoming[0] if len(upcoming) == 1 else pick(upcoming, said, world)
    if chosen is None:
        chosen = upcoming[0]  # the next one; the customer sees which in the reply
    draft = m.Draft(service=chosen.service, date=said.date, time=said.time,
                  part_of_day=said.part_of_day)
    ctx = m.Context(draft=draft, booking_id=chosen.id)
    if said.date is None and said.time is None and said.part_of_day is None:
        return m.goto(m.State.RESCHEDULE_COLLECTING, ctx,
                     m.Reply(replies.ask_new_time(chosen.service, world.local(chosen.start))))
    if said.date is None:
        ctx = replace(ctx, draft=replace(draft, date=world.local(chosen.start).date()))
    return advance(m.Conversation(m.State.RESCHEDULE_COLLECTING, ctx), world)


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
    move = m.RescheduleBooking(booking.id, verdict.start_utc, verdict.end_utc,
                             verdict.resource, top_up)
    if top_up:
        # Held at the new time until the difference is paid; the link is the one reply.
        return m.goto(m.State.PAYMENT_PENDING, m.Context(booking_id=booking.id), move)
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
