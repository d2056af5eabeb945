"""Booking a new appointment: collect service, day and time, check them, propose, book.

Corrections replace what was said before and the proposal is checked again; a refusal says
why and offers the nearest free times (docs/conversations.md, "Refusals"). Also here: a time
without a date (the earliest day it can be booked), the earliest free times, two services
back to back, and a time given in another zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from libs.business.deposits import deposit_for
from libs.business.profile import BusinessProfile, Service
from services.fsm import availability as av, replies, replies_more as more
from services.fsm.machine import model as m
from services.fsm.machine.talk import reprompt

PAIR_SEARCH = 60  # candidate starts tried when looking for two services back to back


def start_booking(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    renewed = renew_lapsed_hold(said, world)
    if renewed is not None:
        return renewed
    draft = m.Draft().merged(said, world.profile)
    return with_staff_note(advance(m.Conversation(m.State.COLLECTING, m.Context(draft=draft)),
                                   world), said, world)


def collect(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    if not said.has_slots():
        return reprompt(conv, said, world)
    moving = conv.state in (m.State.RESCHEDULE_COLLECTING, m.State.RESCHEDULE_CONFIRM)
    if moving:  # a move keeps the booking's service: only the time changes
        said = replace(said, service=None, service2=None, earliest=False)
    draft = conv.context.draft.merged(said, world.profile)
    ctx = replace(conv.context, draft=draft, proposal=None, misses=0)
    state = m.State.RESCHEDULE_COLLECTING if moving else m.State.COLLECTING
    return with_staff_note(advance(m.Conversation(state, ctx), world), said, world)


def with_staff_note(outcome: m.Outcome, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """A person asked for by name is answered honestly before the booking goes on."""
    if not (said.topic or "").startswith("staff:"):
        return outcome
    note = more.staff_note(world.profile, (said.topic or "").removeprefix("staff:"))
    effects = list(outcome.effects)
    for i, effect in enumerate(effects):
        if isinstance(effect, m.Reply):
            effects[i] = m.Reply(f"{note} {effect.text}")
            return replace(outcome, effects=tuple(effects))
    return replace(outcome, effects=(*effects, m.Reply(note)))


@dataclass(frozen=True)
class Placed:
    """Where a request lands: the first service, and the second back to back (if any)."""

    first: av.Bookable
    second: av.Bookable | None

    @property
    def claims(self) -> list[av.Bookable]:
        return [self.first] if self.second is None else [self.first, self.second]


def place(profile: BusinessProfile, service: Service, second: Service | None,
          start: datetime, now: datetime, busy: Sequence[av.Busy]
          ) -> Placed | av.Refusal:
    """Check one service, or two back to back: the second starts when the first ends (on
    the grid or not) and may take another resource."""
    first = av.check(profile, service, start, now, busy)
    if not first.ok or second is None:
        return first if not first.ok else Placed(first, None)
    then = av.check(profile, second, first.end, now,
                    [*busy, (first.resource, first.start_utc, first.end_utc)], on_grid=False)
    return then if not then.ok else Placed(first, then)


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
    second = None if moving else profile.service_by_name(draft.service2 or "")
    busy = world.busy_without(ctx.booking_id if moving else None)

    if draft.earliest and draft.date is None and draft.time is None:
        starts = earliest_starts(world, service, second, busy)
        ctx = replace(ctx, draft=replace(draft, earliest=False))
        return m.goto(collecting, ctx, m.Reply(more.earliest(service.name, starts)))
    if draft.date is None:
        if draft.time is None and draft.part_of_day is None:
            return m.goto(collecting, ctx, m.Reply(replies.ask_day(service.name)))
        day = earliest_day(world, service, second, draft, busy)
        if day is None:
            return m.goto(collecting, ctx, m.Reply(more.no_day_for(
                service.name, draft.time, draft.part_of_day)))
        draft = replace(draft, date=day)
        ctx = replace(ctx, draft=draft)

    assert draft.date is not None
    day_problem = _day_refusal(profile, service, draft.date, world.now)
    if day_problem is not None:
        start = local_start(profile, draft.date, draft.time or time(12, 0), None)
        return refuse(collecting, ctx, world, service, start, day_problem, busy)
    if draft.time is None:
        return m.goto(collecting, ctx, m.Reply(free_times_text(world, service, second, draft,
                                                               busy)))

    start = local_start(profile, draft.date, draft.time, draft.zone)
    placed = place(profile, service, second, start, world.now, busy)
    if not isinstance(placed, Placed):
        if second is not None:
            return refuse_pair(collecting, ctx, world, service, second, start, busy)
        return refuse(collecting, ctx, world, service, start, placed.reason, busy)
    first = placed.first
    proposed = replace(ctx, proposal=first.start, misses=0)
    note = more.zone_note(first.start.astimezone(ZoneInfo(draft.zone)) if draft.zone else None,
                          draft.zone)
    if moving:
        booking = world.booking(ctx.booking_id)
        top_up = top_up_for(profile, service, first.start, booking)
        return m.goto(confirming, proposed, m.Reply(replies.confirm_move(
            profile, service.name, first.start, top_up, note), choices=replies.yes_no()))
    if placed.second is not None and second is not None:
        deposit = pair_deposit(profile, service, second, placed)
        return m.goto(confirming, proposed, m.Reply(more.pair_proposal(
            profile, service.name, first.start, second.name, placed.second.start, deposit,
            note), choices=replies.yes_no()))
    deposit = deposit_for(profile, service, first.start)
    return m.goto(confirming, proposed,
                  m.Reply(replies.proposal(profile, service.name, first.start, deposit, note),
                          choices=replies.yes_no()))


def local_start(profile: BusinessProfile, day: date, at: time, zone: str | None) -> datetime:
    """The requested start: a naive business-local wall time (availability resolves DST gaps
    and folds), or, for a time given in another zone, that instant."""
    if zone is None:
        return datetime.combine(day, at)
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(profile.tz)


def pair_deposit(profile: BusinessProfile, service: Service, second: Service,
                 placed: Placed) -> Decimal:
    """Two services booked together pay one deposit: the sum of each one's."""
    assert placed.second is not None
    return (deposit_for(profile, service, placed.first.start)
            + deposit_for(profile, second, placed.second.start))


def earliest_starts(world: m.World, service: Service, second: Service | None,
                    busy: Sequence[av.Busy]) -> list[datetime]:
    """The first free starts from now on (up to 3), for one service or the pair."""
    profile = world.profile
    today = world.local(world.now).date()
    last = today + timedelta(days=profile.booking.max_days_ahead)
    if second is None:
        return av.free_starts(profile, service, today, last, world.now, busy, limit=3)
    candidates = av.free_starts(profile, service, today, last, world.now, busy,
                                limit=PAIR_SEARCH)
    return [s for s in candidates
            if isinstance(place(profile, service, second, s, world.now, busy), Placed)][:3]


def earliest_day(world: m.World, service: Service, second: Service | None, draft: m.Draft,
                 busy: Sequence[av.Busy]) -> date | None:
    """A time without a date means the earliest day it can be booked, today included; a part
    of the day without a date, the earliest day with a free start in it."""
    profile = world.profile
    day = world.local(world.now).date()
    last = day + timedelta(days=profile.booking.max_days_ahead)
    while day <= last:
        if draft.time is not None:
            start = local_start(profile, day, draft.time, draft.zone)
            if isinstance(place(profile, service, second, start, world.now, busy), Placed):
                return start.date() if draft.zone is None else day
        elif draft.part_of_day in av.PARTS_OF_DAY and av.free_starts_in_window(
                profile, service, day, draft.part_of_day, world.now, busy, limit=1):
            return day
        day += timedelta(days=1)
    return None


def free_times_text(world: m.World, service: Service, second: Service | None,
                    draft: m.Draft, busy: Sequence[av.Busy]) -> str:
    """A day without a time: its free times (in the part of the day, when one was given)."""
    profile = world.profile
    assert draft.date is not None
    window = draft.part_of_day if draft.part_of_day in av.PARTS_OF_DAY else None
    free = av.free_starts(profile, service, draft.date, draft.date, world.now, busy,
                          window=window, limit=PAIR_SEARCH if second else 4)
    if second is not None:
        free = [s for s in free
                if isinstance(place(profile, service, second, s, world.now, busy), Placed)][:4]
    name = service.name if second is None else [service.name, second.name]
    if window is not None:
        return replies.window_times(name, draft.date, str(window), free)
    return replies.ask_time(name, draft.date, free)


def top_up_for(profile: BusinessProfile, service: Service, start: datetime,
               booking: m.BookingView | None) -> Decimal:
    paid = (booking.deposit_amount or Decimal(0)) if booking and \
        booking.deposit_status == "paid" else Decimal(0)
    return max(Decimal("0.00"), deposit_for(profile, service, start) - paid)


def refuse(state: m.State, ctx: m.Context, world: m.World, service: Service, start: datetime,
           reason: str, busy: Sequence[av.Busy]) -> m.Outcome:
    """Say why, offer the nearest free times, keep what still holds ("Refusals")."""
    alternatives = av.nearest_free_starts(world.profile, service, start, world.now, busy,
                                          limit=3)
    shown = start if start.tzinfo is None else start.replace(tzinfo=None)
    text = replies.refusal(world.profile, reason, service.name, shown, alternatives)
    after = _after_refusal(ctx, world, start, reason)
    if state == m.State.COLLECTING and reason in ("fully_booked", "taken"):
        # A new booking refused only because the time is taken: offer the waitlist for it.
        aware = start if start.tzinfo else start.replace(tzinfo=world.profile.tz)
        after = replace(after, full=aware.astimezone(UTC))
        text = f"{text} {more.waitlist_offered()}"
    return m.goto(state, after, m.Reply(text))


def refuse_pair(state: m.State, ctx: m.Context, world: m.World, service: Service,
                second: Service, start: datetime, busy: Sequence[av.Busy]) -> m.Outcome:
    """Two services that cannot go back to back there: the nearest starts where they can."""
    profile = world.profile
    candidates = av.nearest_free_starts(profile, service, start, world.now, busy,
                                        limit=PAIR_SEARCH)
    fits = [s for s in candidates
            if isinstance(place(profile, service, second, s, world.now, busy), Placed)]
    requested = (start if start.tzinfo else start.replace(tzinfo=profile.tz)).timestamp()
    nearest = sorted(sorted(fits, key=lambda s: (abs(s.timestamp() - requested),
                                                 requested - s.timestamp()))[:3])
    first = av.check(profile, service, start, world.now, busy)
    reason = first.reason if not first.ok else "fully_booked"
    shown = start if start.tzinfo is None else start.replace(tzinfo=None)
    text = more.pair_refusal(service.name, second.name, shown, nearest)
    return m.goto(state, _after_refusal(ctx, world, start, reason), m.Reply(text))


def _after_refusal(ctx: m.Context, world: m.World, start: datetime, reason: str) -> m.Context:
    """The service is kept, the date unless the refusal was about the date, the time not."""
    about_the_day = reason in av.DATE_REASONS or (
        reason == "in_the_past" and start.date() < world.local(world.now).date())
    draft = replace(ctx.draft, time=None, part_of_day=None,
                    date=None if about_the_day else ctx.draft.date)
    return replace(ctx, draft=draft, proposal=None, misses=0, full=None)


def _day_refusal(profile: BusinessProfile, service: Service, day: date,
                 now: datetime) -> str | None:
    """Why nothing at all can be booked on `day`, if so. Availability checks the day before the
    time of day, so asking about the day's last minute yields exactly the date-level reasons."""
    verdict = av.check(profile, service, datetime.combine(day, time(23, 59)), now, [])
    if verdict.ok or not (verdict.reason in av.DATE_REASONS or verdict.reason == "in_the_past"):
        return None
    return verdict.reason


def accept_proposal(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """Re-check against who is busy *now*: a lost race is "just taken" plus alternatives."""
    profile, ctx = world.profile, conv.context
    service = profile.service_by_name(ctx.draft.service or "")
    second = profile.service_by_name(ctx.draft.service2 or "")
    if service is None or ctx.proposal is None:
        return advance(m.Conversation(m.State.COLLECTING, ctx), world)
    capped = over_web_cap(world, 1 if second is None else 2)
    if capped is not None:
        return capped
    busy = world.busy_without()
    placed = place(profile, service, second, ctx.proposal, world.now, busy)
    if not isinstance(placed, Placed):
        if second is not None:
            return refuse_pair(m.State.COLLECTING, ctx, world, service, second, ctx.proposal,
                               busy)
        reason = "taken" if placed.reason == "fully_booked" else placed.reason
        return refuse(m.State.COLLECTING, ctx, world, service, ctx.proposal, reason, busy)
    if placed.second is not None and second is not None:
        return book_pair(world, service, second, placed)
    start = placed.first
    deposit = deposit_for(profile, service, start.start)
    create = m.CreateBooking(service=service.name, start=start.start_utc, end=start.end_utc,
                             resource=start.resource, deposit=deposit,
                             booking_id=world.next_booking_id, reference=world.next_reference)
    if deposit:
        # The reply (with the checkout link) is sent when payments has made the link.
        return m.goto(m.State.PAYMENT_PENDING, m.Context(booking_id=world.next_booking_id),
                      create)
    return m.fresh(create, m.Reply(replies.booked(service.name, start.start,
                                                  world.next_reference)))


def over_web_cap(world: m.World, new: int) -> m.Outcome | None:
    """An unverified web visitor past their caps is refused politely and given the phone,
    so a script opening sessions cannot book out a day (docs/conversations.md, "Web chat
    caps"). Checked before the slot, so nobody is shown times they could not book."""
    caps = world.web_caps
    if caps is None:
        return None
    if len(world.upcoming()) + new > caps.max_live:
        return m.fresh(m.Reply(more.web_session_cap(world.profile, caps.max_live)))
    if caps.made_today + new > caps.max_per_day:
        return m.fresh(m.Reply(more.web_address_cap(world.profile)))
    return None


def book_pair(world: m.World, service: Service, second: Service, placed: Placed) -> m.Outcome:
    """One booking per service, in the order named; one checkout for the sum of deposits."""
    assert placed.second is not None
    profile = world.profile
    first_deposit = deposit_for(profile, service, placed.first.start)
    second_deposit = deposit_for(profile, second, placed.second.start)
    total = first_deposit + second_deposit
    leader = world.next_booking_id
    creates = (
        m.CreateBooking(service=service.name, start=placed.first.start_utc,
                        end=placed.first.end_utc, resource=placed.first.resource,
                        deposit=first_deposit, booking_id=leader,
                        reference=world.next_reference, checkout=total if total else None),
        m.CreateBooking(service=second.name, start=placed.second.start_utc,
                        end=placed.second.end_utc, resource=placed.second.resource,
                        deposit=second_deposit, booking_id=world.extra_booking_id,
                        reference=world.extra_reference, paid_with=leader if total else None),
    )
    if total:
        return m.goto(m.State.PAYMENT_PENDING, m.Context(booking_id=leader), *creates)
    return m.fresh(*creates, m.Reply(more.pair_booked(
        service.name, placed.first.start, second.name, placed.second.start,
        [world.next_reference, world.extra_reference])))


def renew_lapsed_hold(said: m.CustomerSaid, world: m.World) -> m.Outcome | None:
    """"Can I get a new link?" after a hold lapsed: the same time is proposed again (checked
    against who is busy now), as a good front desk would."""
    if said.topic != "new_link":
        return None
    lapsed = [b for b in world.bookings
              if b.status == "expired" and b.start > world.now and b.paid_with is None]
    if not lapsed:
        return m.fresh(m.Reply(f"{more.no_link_to_renew()} {replies.help_text()}"))
    booking = lapsed[-1]
    local = world.local(booking.start)
    draft = m.Draft(service=booking.service, date=local.date(), time=local.time())
    return advance(m.Conversation(m.State.COLLECTING, m.Context(draft=draft)), world)


def decline_proposal(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    if said.has_slots():
        return collect(conv, said, world)
    draft = replace(conv.context.draft, time=None, part_of_day=None)
    return m.goto(m.State.COLLECTING, replace(conv.context, draft=draft, proposal=None,
                                              misses=0),
                  m.Reply(replies.proposal_declined()))


def drop_request(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    return m.fresh(m.Reply(replies.request_dropped()))
