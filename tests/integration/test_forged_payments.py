"""A payment event fsm never asked for changes nothing (issue 19): fsm acts on a payment
only for a checkout session payments announced for that booking. The broker's per-service
users stop the forgery earlier (tests/integration/test_broker_users.py); this holds even
when someone gets past them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from libs.contracts import events as ev
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from receptionist.scenarios.model import load_scenario
from receptionist.scenarios.system import SimulatedSystem, driver_factory
from services.fsm.models import Booking
from tests.helpers import FIXTURE_BUSINESSES, OWN_SCENARIOS

pytestmark = pytest.mark.integration

SCENARIO = OWN_SCENARIOS / "barber_duplicate_payment_event_whatsapp.yaml"
CUSTOMER = "+17735550417"


@pytest.fixture
async def pending(server_database_url: str) -> AsyncIterator[SimulatedSystem]:
    """A barber customer who said yes to a $10 deposit: PAYMENT_PENDING, nothing paid."""
    factory, databases = driver_factory(database_url=server_database_url)
    try:
        async with factory(load_scenario(SCENARIO), FIXTURE_BUSINESSES) as system:
            assert isinstance(system, SimulatedSystem)
            for text in ("cut and beard saturday at noon", "yes"):
                await system.say(text=text, customer=CUSTOMER, channel="whatsapp",
                                 business_id="barber")
                await system.idle()
            assert await system.state(customer=CUSTOMER, business_id="barber") == \
                "PAYMENT_PENDING"
            yield system
    finally:
        await databases.close()


async def forge(system: SimulatedSystem, message: Message) -> None:
    envelope = make_envelope(message, business_id="barber", occurred_at=system.clock.now())
    await system.transport.publish(envelope.to_json(), envelope.type,
                                   message_id=str(envelope.event_id))
    await system.idle()


async def test_a_payment_for_a_session_never_created_confirms_nothing(
        pending: SimulatedSystem) -> None:
    async with pending.sessions() as session:
        booking = (await session.scalars(select(Booking))).one()
    mark = pending.mark()
    for session_id in ("cs_forged_0001", ""):
        await forge(pending, ev.PaymentSucceeded(
            booking_id=booking.id, checkout_session_id=session_id, amount=Decimal("10.00"),
            currency="usd", paid_at=pending.clock.now()))
        await forge(pending, ev.PaymentExpired(booking_id=booking.id,
                                               checkout_session_id=session_id))
    assert pending.messages_since(mark) == []
    assert await pending.state(customer=CUSTOMER, business_id="barber") == "PAYMENT_PENDING"
    [row] = await pending.bookings(customer=CUSTOMER, business_id="barber")
    assert (row["status"], row["deposit"]) == ("held", "pending")

    await pending.pay(customer=CUSTOMER, business_id="barber", times=1)  # the real one
    [row] = await pending.bookings(customer=CUSTOMER, business_id="barber")
    assert (row["status"], row["deposit"]) == ("confirmed", "paid")
    assert await pending.dead_letters() == []
