"""The transition table tells the truth: whatever a rule does, the state it ends in is one
of the targets its table entry declares, or the state it started in. The README's diagram
is printed from those declarations, so it cannot drift from behaviour."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import INTENTS
from services.fsm import machine as m
from services.fsm.machine import State

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY).astimezone(UTC)


def _booking(day: int, hour: int, **fields: Any) -> m.BookingView:
    start = datetime(2026, 12, day, hour, tzinfo=NY).astimezone(UTC)
    values: dict[str, Any] = {"id": uuid.uuid4(), "reference": "REF001", "service": "Haircut",
                              "start": start, "end": start + timedelta(minutes=45),
                              "status": "confirmed", "deposit_status": "none",
                              "deposit_amount": None, "resource": 1, **fields}
    return m.BookingView(**values)


CONFIRMED = _booking(3, 11)
SECOND = _booking(4, 14, service="Beard Trim")
HELD = _booking(5, 10, status="held", deposit_status="pending", deposit_amount=Decimal("15"))
PAID = _booking(8, 10, deposit_status="paid", deposit_amount=Decimal("20"))
EXPIRED = _booking(9, 10, status="expired", deposit_status="expired",
                   deposit_amount=Decimal("15"))
BOOKING_SETS = [(), (CONFIRMED,), (CONFIRMED, SECOND), (HELD, PAID, EXPIRED)]


def contexts() -> list[m.Context]:
    drafts = [m.Draft(), m.Draft(service="Haircut"), m.Draft(service="Haircut",
                                                             date=date(2026, 12, 2)),
              m.Draft(service="Haircut", date=date(2026, 12, 2), time=time(15))]
    proposal = datetime(2026, 12, 2, 15, 0)
    out = [m.Context(draft=d) for d in drafts]
    out += [m.Context(draft=drafts[-1], proposal=proposal, booking_id=b.id)
            for b in (CONFIRMED, HELD, PAID)]
    out += [m.Context(booking_id=b.id) for b in (CONFIRMED, HELD, EXPIRED)]
    out += [m.Context(candidates=(CONFIRMED.id, SECOND.id)), m.Context(misses=2)]
    return out


def inputs() -> list[m.Input]:
    said: list[m.Input] = []
    for intent in INTENTS:
        said += [m.CustomerSaid(intent=intent, text=intent),
                 m.CustomerSaid(intent=intent, text="2", service="Haircut",
                                date=date(2026, 12, 4), time=time(11)),
                 m.CustomerSaid(intent=intent, text="the first one", date=date(2026, 12, 3)),
                 m.CustomerSaid(intent=intent, text="sunday", date=date(2026, 12, 6),
                                part_of_day="morning")]
    system: list[m.Input] = [m.SessionTimedOut()]
    for b in (CONFIRMED, HELD, PAID, EXPIRED):
        system += [m.CheckoutReady(b.id, "https://pay.test/x", Decimal("15")),
                   m.DepositPaid(b.id, Decimal("15")), m.HoldLapsed(b.id)]
    return said + system


def test_every_outcome_ends_in_a_declared_target_or_where_it_started(
        salon: BusinessProfile) -> None:
    checked = 0
    for state, ctx, bookings, said in itertools.product(State, contexts(), BOOKING_SETS,
                                                          inputs()):
        world = m.World(profile=salon, now=NOW, busy=[], bookings=bookings,
                        customer="+15555550101", next_booking_id=uuid.UUID(int=7),
                        next_reference="NEW001")
        outcome = m.step(m.Conversation(state, ctx), said, world)
        transition = m.TRANSITIONS[(state, said.kind)]
        allowed = {state, *transition.targets}
        assert outcome.conversation.state in allowed, (
            f"{state} --{said.kind}--> {outcome.conversation.state} is not declared "
            f"({transition.label}: {sorted(allowed)}) for {said!r} with {ctx!r}")
        checked += 1
    assert checked > 10_000
