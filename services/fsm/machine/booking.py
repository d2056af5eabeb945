"""Booking a new appointment: collect service, day and time, check them, propose, book.

Corrections replace what was said before and the proposal is checked again; a refusal says
why and offers the nearest free times (docs/conversations.md, "Refusals").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal

from libs.business.deposits import deposit_for
from libs.business.profile import BusinessProfile, Service
from services.fsm import availability as av
from services.fsm import replies
from services.fsm.machine import model as m
from services.fsm.machine.talk import reprompt


def start_booking(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    draft = m.Draft().merged(said, world.profile)
    return advance(m.Conversation(m.State.COLLECTING, m.Context(draft=draft)), world)


def collect(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    if not said.has_slots():
        return reprompt(conv, said, world)
    draft = conv.context.draft.merged(said, world.profile)
    ctx = replace(conv.context, draft=draft, proposal=None, misses=0)
    state = (m.State.RESCHEDULE_COLLECTING if conv.state in (
        m.State.RESCHEDULE_COLLECTING, m.State.RESCHEDULE_CONFIRM) else m.State.COLLECTING)
    return advance(m.Conversation(state, ctx), world)


def advance(conv: m.Conversation, world: m.World) -> m.Outcome:
    """Ask for what is missing, answer a vague time with free times, or check and propose."""
    profile, ctx = world.profile, conv.context
    draft = ctx.draft
    moving = conv.state in (m.State.RESCHEDULE_COLLECTING, m.State.RESCHEDULE_CONFIRM)
    collecting = m.State.RESCHEDULE_COLLECTING if moving else m.State.COLLECTING
    confirming = m.State.RESCHEDULE_CONFIRM if moving else m.State.CONFIRMING
    if draft.service is None:
        return m.goto(collecting, ctx, m.Reply(replies.ask_service(profile)))
    service = profile.service_by_name(draft.service)
    assert service is not None  # drafts only hold catalog names
    if draft.date is None:
        return m.goto(collecting, ctx, m.Reply(replies.ask_day(service.name)))
    busy = world.busy_without(ctx.booking_id if moving else None)

    day_problem = _day_refusal(profile, service, draft.date, world.now)
    if day_problem is not None:
        start = _local_start(profile, draft.date, draft.time or time(12, 0))
        return refuse(collecting, ctx, world, service, start, day_problem, busy)
    if draft.time is None:
        window = draft.part_of_day
        if window in av.PARTS_OF_DAY:
            free = av.free_starts_in_window(profile, service, draft.date, window,
                                            world.now, busy, limit=4)
            text = replies.window_times(service.name, draft.date, str(window), free)
        else:
            free = av.free_starts_on_day(profile, service, draft.date, world.now, busy, limit=4)
            text = replies.ask_time(service.name, draft.date, free)
        return m.goto(collecting, ctx, m.Reply(text))

    start = _local_start(profile, draft.date, draft.time)
    verdict = av.check(profile, service, start, world.now, busy)
    if not verdict.ok:
        return refuse(collecting, ctx, world, service, start, verdict.reason, busy)
    start = verdict.start
    proposed = replace(ctx, proposal=start, misses=0)
    if moving:
        booking = world.booking(ctx.booking_id)
        top_up = top_up_for(profile, service, start, booking)
        return m.goto(confirming, proposed,
                     m.Reply(replies.confirm_move(profile, service.name, start, top_up)))
    deposit = deposit_for(profile, service, start)
    return m.goto(confirming, proposed,
                 m.Reply(replies.proposal(profile, service.name, start, deposit)))


def top_up_for(profile: BusinessProfile, service: Service, start: datetime,
            booking: m.BookingView | None) -> Decimal:
    paid = (booking.deposit_amount or Decimal(0)) if booking and \
        booking.deposit_status == "paid" else Decimal(0)
    return max(Decimal("0.00"), deposit_for(profile, service, start) - paid)


def refuse(state: m.State, ctx: m.Context, world: m.World, service: Service, start: datetime,
            reason: str, busy: Sequence[av.Busy]) -> m.Outcome:
    """Say why, offer the nearest free times, keep what still holds (spec "Refusals")."""
    alternatives = av.nearest_free_starts(world.profile, service, start, world.now, busy,
                                          limit=3)
    about_the_day = reason in av.DATE_REASONS or (
        reason == "in_the_past" and start.date() < world.local(world.now).date())
    draft = replace(ctx.draft, time=None, part_of_day=None,
                    date=None if about_the_day else ctx.draft.date)
    text = replies.refusal(world.profile, reason, service.name, start, alternatives)
    return m.goto(state, replace(ctx, draft=draft, proposal=None, misses=0), m.Reply(text))


def _day_refusal(profile: BusinessProfile, service: Service, day: date,
                 now: datetime) -> str | None:
    """Why nothing at all can be booked on `day`, if so. Availability checks the day before the
    time of day, so asking about the day's last minute yields exactly the date-level reasons."""
    verdict = av.check(profile, service, datetime.combine(day, time(23, 59)), now, [])
    if verdict.ok or not (verdict.reason in av.DATE_REASONS or verdict.reason == "in_the_past"):
        return None
    return verdict.reason


def _local_start(profile: BusinessProfile, day: date, at: time) -> datetime:
    """A naive business-local wall time: availability resolves DST gaps and folds."""
    return datetime.combine(day, at)


def accept_proposal(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """Re-check against who is busy *now*: a lost race is "just taken" plus alternatives."""
    profile, ctx = world.profile, conv.context
    service = profile.service_by_name(ctx.draft.service or "")
    if service is None or ctx.proposal is None:
        return advance(m.Conversation(m.State.COLLECTING, ctx), world)
    busy = world.busy_without()
    verdict = av.check(profile, service, ctx.proposal, world.now, busy)
    if not verdict.ok:
        reason = "taken" if verdict.reason == "fully_booked" else verdict.reason
        return refuse(m.State.COLLECTING, ctx, world, service, ctx.proposal, reason, busy)
    start = verdict.start
    deposit = deposit_for(profile, service, start)
    create = m.CreateBooking(service=service.name, start=verdict.start_utc, end=verdict.end_utc,
                           resource=verdict.resource, deposit=deposit,
                           booking_id=world.next_booking_id, reference=world.next_reference)
    if deposit:
        # The reply (with the checkout link) is sent when payments has made the link.
        return m.goto(m.State.PAYMENT_PENDING, m.Context(booking_id=world.next_booking_id),
                     create)
    return m.fresh(create, m.Reply(replies.booked(service.name, start, world.next_reference)))


def decline_proposal(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    if said.has_slots():
        return collect(conv, said, world)
    draft = replace(conv.context.draft, time=None, part_of_day=None)
    return m.goto(m.State.COLLECTING, replace(conv.context, draft=draft, proposal=None, misses=0),
                 m.Reply(replies.proposal_declined()))


def drop_request(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    return m.fresh(m.Reply(replies.request_dropped()))
