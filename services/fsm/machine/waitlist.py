"""The waitlist (docs/conversations.md, "Waitlist").

A refusal because a time is fully booked offers the list; joining is confirmed with the
service, date and time. When that time opens, the first customer in line who is free to
talk is offered it, held for them for `waitlist.offer_minutes`: yes books it like any
accepted proposal, no or silence passes it on. Which entry is offered when is decided
outside (services/fsm/waitlist.py); whether this customer can take it now is decided here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from libs.business.deposits import deposit_for
from libs.business.profile import Service
from services.fsm import availability as av, replies, replies_more as more
from services.fsm.machine import model as m
from services.fsm.machine.booking import accept_proposal, advance, decline_proposal, local_start

WAITABLE = ("fully_booked", "taken")


def join(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """"Put me on the waitlist" / "W": for the time just refused, or the one the message
    (with what the conversation has) names, if it is fully booked; a free time is proposed
    instead, and a missing piece is asked for."""
    profile, ctx = world.profile, conv.context
    if ctx.full is not None and ctx.draft.service is not None and not said.has_slots():
        service = profile.service_by_name(ctx.draft.service)
        if service is not None:
            return _joined(world, service, ctx.full)
    draft = ctx.draft.merged(said, profile)
    service = profile.service_by_name(draft.service or "")
    if service is None or draft.date is None or draft.time is None:
        if not said.has_slots() and ctx.draft == m.Draft():
            return m.stay(conv, m.Reply(more.waitlist_which_time()))
        return advance(m.Conversation(m.State.COLLECTING, replace(ctx, draft=draft)), world)
    start = local_start(profile, draft.date, draft.time, draft.zone)
    verdict = av.check(profile, service, start, world.now, world.busy_without())
    if not verdict.ok and verdict.reason in WAITABLE:
        return _joined(world, service, verdict.start.astimezone(UTC))
    return advance(m.Conversation(m.State.COLLECTING, replace(ctx, draft=draft)), world)


def _joined(world: m.World, service: Service, start: datetime) -> m.Outcome:
    end = start + timedelta(minutes=service.duration_minutes)
    return m.fresh(m.JoinWaitlist(service.name, start, end),
                   m.Reply(more.waitlist_joined(service.name, world.local(start))))


def offer_opening(conv: m.Conversation, event: m.WaitlistOpening, world: m.World) -> m.Outcome:
    """Offer the opened time to a customer free to talk (IDLE), if it still fits; one in the
    middle of another conversation keeps their place."""
    profile = world.profile
    service = profile.service_by_name(event.service)
    if conv.state != m.State.IDLE or world.opted_out or service is None:
        return m.Outcome(conv)
    local = world.local(event.start)
    verdict = av.check(profile, service, local, world.now, world.busy_without())
    if not verdict.ok:
        return m.Outcome(conv)
    deposit = deposit_for(profile, service, verdict.start)
    draft = m.Draft(service=service.name, date=local.date(), time=local.time())
    ctx = m.Context(draft=draft, proposal=verdict.start, offer=event.entry_id)
    text = more.waitlist_offer(profile, service.name, verdict.start, deposit,
                               profile.waitlist.offer_minutes)
    return m.goto(m.State.CONFIRMING, ctx,
                  m.HoldOffer(event.entry_id, event.offer_booking_id, service.name,
                              verdict.start_utc, verdict.end_utc, verdict.resource,
                              event.expires_at),
                  m.Reply(text, choices=replies.yes_no()))


def accept(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """Yes to a proposal; to an offered time, the hold gives way to the booking first."""
    outcome = accept_proposal(conv, said, world)
    entry = conv.context.offer
    if entry is None or not any(isinstance(e, m.CreateBooking) for e in outcome.effects):
        return outcome
    return replace(outcome, effects=(m.TakeOffer(entry), *outcome.effects))


def decline(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """No to an offered time passes it on; otherwise as any declined proposal."""
    entry = conv.context.offer
    if entry is None or said.has_slots():
        return decline_proposal(conv, said, world)
    return m.fresh(m.DeclineOffer(entry), m.Reply(more.waitlist_declined()))


def offer_lapsed(conv: m.Conversation, event: m.OfferLapsed, world: m.World) -> m.Outcome:
    """Silence until the offer lapsed: nothing is said; a conversation still on that offer
    returns to IDLE."""
    if conv.context.offer == event.entry_id:
        return m.fresh(m.LapseOffer(event.entry_id))
    return m.Outcome(conv, (m.LapseOffer(event.entry_id),))
