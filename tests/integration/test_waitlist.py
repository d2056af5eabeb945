"""The waitlist over real PostgreSQL (issue 25): two openings of one freed time handled at
the same moment (two fsm replicas) make exactly one offer, and the offered time is held so
that nobody else can book it meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from libs.contracts.commands import ReplyRequested
from libs.contracts.vocabulary import OFFERED
from libs.timers.models import Timer
from receptionist.scenarios.model import load_scenario
from receptionist.scenarios.system import SimulatedSystem, driver_factory
from services.fsm import waitlist
from services.fsm.handlers import FsmDeps, on_waitlist_opening
from services.fsm.models import Booking, Customer, WaitlistEntry
from tests.helpers import FIXTURE_BUSINESSES, OWN_SCENARIOS, fire

pytestmark = pytest.mark.integration

SCENARIO = OWN_SCENARIOS / "salon_waitlist_decline_passes_it_on_sms.yaml"
BOOKED = ("+12125550801", "+12125550802")  # both chairs, Thursday 10:00
WAITING = ("+12125550803", "+12125550804")  # in the order they joined


@pytest.fixture
async def full(server_database_url: str) -> AsyncIterator[SimulatedSystem]:
    factory, databases = driver_factory(database_url=server_database_url)
    try:
        async with factory(load_scenario(SCENARIO), FIXTURE_BUSINESSES) as system:
            assert isinstance(system, SimulatedSystem)
            for customer in BOOKED:
                for text in ("haircut thursday at 10am", "yes"):
                    await say(system, customer, text)
            for customer in WAITING:
                for text in ("haircut thursday at 10am", "W"):
                    await say(system, customer, text)
            yield system
    finally:
        await databases.close()


async def say(system: SimulatedSystem, customer: str, text: str) -> None:
    await system.say(text=text, customer=customer, channel="sms", business_id="salon")
    await system.idle()


async def test_two_openings_of_one_freed_chair_at_once_make_one_offer(
        full: SimulatedSystem) -> None:
    async with full.sessions() as session, session.begin():
        booking = (await session.scalars(
            select(Booking).join(Customer).where(Customer.address == BOOKED[0]))).one()
        # The chair is freed (as a cancellation does), and two openings for it are due at
        # once, as when two replicas each saw an event freeing it.
        await session.execute(update(Booking).where(Booking.id == booking.id)
                              .values(status="cancelled"))
        for _ in range(2):
            await waitlist.schedule_opening(session, "salon", booking.starts_at,
                                            booking.ends_at, full.clock.now())
    async with full.sessions() as session:
        due = (await session.scalars(select(Timer).where(
            Timer.kind == waitlist.OPENING, Timer.fired_at.is_(None)))).all()
    assert len(due) == 2
    emitted = await asyncio.gather(*(
        fire(on_waitlist_opening, timer, FsmDeps(), sessions=full.sessions, clock=full.clock)
        for timer in due))

    offers = [m for batch in emitted for m in batch if isinstance(m, ReplyRequested)]
    assert [m.to for m in offers] == [WAITING[0]]  # the first in line, once
    assert "just opened up" in offers[0].text
    async with full.sessions() as session:
        held = await session.scalar(select(func.count()).select_from(Booking)
                                    .where(Booking.status == OFFERED))
        statuses = dict((await session.execute(
            select(Customer.address, WaitlistEntry.status).join(Customer))).all())
    assert held == 1
    assert statuses == {WAITING[0]: "offered", WAITING[1]: "waiting"}

    # Held for them: nobody else can book that time meanwhile.
    await say(full, "+12125550805", "haircut thursday at 10am")
    assert await full.state(customer="+12125550805", business_id="salon") == "COLLECTING"


async def test_an_offer_goes_only_to_a_customer_free_to_talk(full: SimulatedSystem) -> None:
    await say(full, WAITING[0], "what are your hours?")  # answered, still IDLE
    await say(full, WAITING[0], "haircut friday at 3pm")  # mid-conversation now
    assert await full.state(customer=WAITING[0], business_id="salon") == "CONFIRMING"
    await say(full, BOOKED[0], "cancel my appointment")
    await say(full, BOOKED[0], "yes")
    assert await full.state(customer=WAITING[0], business_id="salon") == "CONFIRMING"
    assert await full.state(customer=WAITING[1], business_id="salon") == "CONFIRMING"
    async with full.sessions() as session:
        first = (await session.scalars(select(WaitlistEntry).join(Customer).where(
            Customer.address == WAITING[0]))).one()
        recheck = await session.scalar(select(func.count()).select_from(Timer).where(
            Timer.kind == waitlist.OPENING, Timer.fired_at.is_(None)))
    assert first.status == "waiting"  # keeps their place
    assert recheck == 0  # the next in line took it: nothing left to look at again


async def test_a_time_nobody_free_could_take_is_looked_at_again(full: SimulatedSystem) -> None:
    for customer in WAITING:  # both mid-conversation when the chair frees up
        await say(full, customer, "haircut friday at 3pm")
    await say(full, BOOKED[0], "cancel my appointment")
    await say(full, BOOKED[0], "yes")
    for customer in WAITING:
        for text in ("no", "no"):  # not that time; nothing else: free to talk again
            await say(full, customer, text)
        assert await full.state(customer=customer, business_id="salon") == "IDLE"
    await full.wait(timedelta(minutes=6))
    assert await full.state(customer=WAITING[0], business_id="salon") == "CONFIRMING"
    assert await full.state(customer=WAITING[1], business_id="salon") == "IDLE"  # next in line
