"""The waitlist in the machine (docs/conversations.md, "Waitlist"): a fully booked time
offers it, joining names the time, an opening is offered only to a customer free to talk,
and yes, no and silence end the offer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from libs.business.profile import BusinessProfile
from services.fsm import machine as m
from services.fsm.machine import State
from tests.unit.fsm.test_machine import NY, booking, held, replies, said, world

THURSDAY_10 = datetime(2026, 12, 3, 10, 0)
THURSDAY = THURSDAY_10.date()


def full_at_ten(profile: BusinessProfile) -> m.World:
    chairs = [booking(THURSDAY_10, resource=r) for r in (1, 2)]
    return world(profile, busy=[held(b) for b in chairs])


def test_a_fully_booked_time_offers_the_waitlist_and_w_joins_it(salon: BusinessProfile) -> None:
    w = full_at_ten(salon)
    out = m.step(m.Conversation(), said("book", service="Haircut", date=THURSDAY,
                                        time=time(10)), w)
    assert out.conversation.state == State.COLLECTING
    assert "waitlist" in replies(out)[0]
    ten = THURSDAY_10.replace(tzinfo=NY).astimezone(UTC)
    assert out.conversation.context.full == ten
    joined = m.step(out.conversation, said("waitlist", "W"), w)
    assert joined.conversation.state == State.IDLE
    assert joined.effects[0] == m.JoinWaitlist("Haircut", ten, ten + timedelta(minutes=45))
    assert "Thu, Dec 3" in replies(joined)[0] and "10:00 AM" in replies(joined)[0]


def test_waitlist_for_a_named_time_joins_only_when_it_is_full(salon: BusinessProfile) -> None:
    ask = said("waitlist", "waitlist for a haircut thursday at 10", service="Haircut",
               date=THURSDAY, time=time(10))
    joined = m.step(m.Conversation(), ask, full_at_ten(salon))
    assert any(isinstance(e, m.JoinWaitlist) for e in joined.effects)
    free = m.step(m.Conversation(), ask, world(salon))
    assert free.conversation.state == State.CONFIRMING  # free: proposed instead
    assert not any(isinstance(e, m.JoinWaitlist) for e in free.effects)
    vague = m.step(m.Conversation(), said("waitlist", "W"), world(salon))
    assert vague.effects == (m.Reply(replies(vague)[0]),) and vague.conversation.state == State.IDLE


def opening(profile: BusinessProfile) -> m.WaitlistOpening:
    start = THURSDAY_10.replace(tzinfo=NY).astimezone(UTC)
    return m.WaitlistOpening(uuid.UUID(int=1), "Haircut", start, uuid.UUID(int=2),
                             start - timedelta(hours=40))


def test_an_opening_is_offered_to_a_customer_free_to_talk(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), opening(salon), world(salon))
    assert out.conversation.state == State.CONFIRMING
    assert out.conversation.context.offer == uuid.UUID(int=1)
    hold = next(e for e in out.effects if isinstance(e, m.HoldOffer))
    assert (hold.booking_id, hold.service) == (uuid.UUID(int=2), "Haircut")
    assert "Thu, Dec 3" in replies(out)[0] and "15 minutes" in replies(out)[0]
    busy = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft(service="Color")))
    assert m.step(busy, opening(salon), world(salon)).effects == ()  # keeps their place
    assert m.step(m.Conversation(), opening(salon), full_at_ten(salon)).effects == ()


def test_yes_takes_the_offer_no_passes_it_on_silence_lapses(salon: BusinessProfile) -> None:
    offered = m.step(m.Conversation(), opening(salon), world(salon)).conversation
    yes = m.step(offered, said("affirm", "yes"), world(salon))
    assert yes.effects[0] == m.TakeOffer(uuid.UUID(int=1))
    assert any(isinstance(e, m.CreateBooking) for e in yes.effects)
    no = m.step(offered, said("deny", "no thanks"), world(salon))
    assert no.effects[0] == m.DeclineOffer(uuid.UUID(int=1))
    assert no.conversation.state == State.IDLE
    lapsed = m.step(offered, m.OfferLapsed(uuid.UUID(int=1)), world(salon))
    assert lapsed.effects == (m.LapseOffer(uuid.UUID(int=1)),)  # nothing said
    assert lapsed.conversation.state == State.IDLE
