"""What staff do through the admin API, with every service running (issue 24): a cancel or
move on the customer's behalf reaches fsm as a command, the customer is told through the
same channel and events (`booking.cancelled` says `cancelled_by: staff`); a move fsm can no
longer make alerts staff; a reminder is sent again; a takeover silences the bot until it is
released."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from libs.bus.models import OutboxMessage
from libs.contracts.commands import StaffMoveRequested
from libs.contracts.registry import make_envelope
from receptionist.scenarios.model import load_scenario
from receptionist.scenarios.system import SimulatedSystem, driver_factory
from services.admin.models import AdminAudit
from services.admin.security import create_key
from services.fsm.models import Booking, Conversation, Customer, TakeoverMessage
from tests.helpers import FIXTURE_BUSINESSES, OWN_SCENARIOS

pytestmark = pytest.mark.integration

SCENARIO = OWN_SCENARIOS / "salon_waitlist_decline_passes_it_on_sms.yaml"  # Tue Dec 1, 9:00
NY = ZoneInfo("America/New_York")
ALICE, BOB = "+12125550841", "+12125550842"
OWNER = "+12125550199"


@dataclass
class Booked:
    system: SimulatedSystem
    admin: httpx.AsyncClient
    reference: str


@pytest.fixture
async def booked(server_database_url: str) -> AsyncIterator[Booked]:
    """Alice has a Haircut on Thursday at 10:00, confirmed; the salon has a key."""
    factory, databases = driver_factory(database_url=server_database_url)
    try:
        async with factory(load_scenario(SCENARIO), FIXTURE_BUSINESSES) as system:
            assert isinstance(system, SimulatedSystem)
            for text in ("haircut thursday at 10am", "yes"):
                await say(system, ALICE, text)
            async with system.sessions() as session, session.begin():
                _, key = await create_key(session, "salon", system.clock.now())
                reference = (await session.scalars(select(Booking.reference))).one()
            async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=system.host.apps["admin"]),
                    base_url="https://admin.test",
                    headers={"Authorization": f"Bearer {key}"}) as admin:
                yield Booked(system, admin, reference)
    finally:
        await databases.close()


async def say(system: SimulatedSystem, customer: str, text: str) -> None:
    await system.say(text=text, customer=customer, channel="sms", business_id="salon")
    await system.idle()


def told(system: SimulatedSystem, mark: int, to: str = ALICE) -> list[str]:
    return [m.text for m in system.messages_since(mark) if m.to == to]


async def the_booking(system: SimulatedSystem) -> Booking:
    async with system.sessions() as session:
        return (await session.scalars(select(Booking).join(Customer).where(
            Customer.address == ALICE))).one()


async def published(system: SimulatedSystem, message_type: str) -> list[dict[str, object]]:
    async with system.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.type == message_type, OutboxMessage.published_at.is_not(None))
            .order_by(OutboxMessage.id))).all()
    return [row.envelope["payload"] for row in rows]


async def test_a_cancel_on_the_customer_s_behalf_is_told_to_them(booked: Booked) -> None:
    system, mark = booked.system, booked.system.mark()
    answer = await booked.admin.post(f"/admin/api/bookings/{booked.reference}/cancel",
                                     json={"note": "Your stylist is ill, sorry."})
    assert answer.status_code == 202, answer.text
    await system.idle()
    assert told(system, mark) == ["Bella Hair Studio has cancelled your Haircut on Thu, Dec 3 "
                                  "at 10:00 AM. Your stylist is ill, sorry."]
    assert (await the_booking(system)).status == "cancelled"
    (event,) = await published(system, "booking.cancelled.v1")
    assert event["cancelled_by"] == "staff" and event["reference"] == booked.reference
    assert await system.dead_letters() == []
    again = await booked.admin.post(f"/admin/api/bookings/{booked.reference}/cancel")
    assert again.status_code == 409  # no longer live


async def test_a_move_on_the_customer_s_behalf_is_checked_and_told(booked: Booked) -> None:
    system, mark = booked.system, booked.system.mark()
    for customer in (BOB, "+12125550843"):  # both chairs at Friday 11:00
        for text in ("haircut friday at 11am", "yes"):
            await say(system, customer, text)
    taken = await booked.admin.post(f"/admin/api/bookings/{booked.reference}/move",
                                    json={"start": "2026-12-04T11:00"})
    assert taken.status_code == 409 and "fully_booked" in taken.json()["detail"]
    moved = await booked.admin.post(f"/admin/api/bookings/{booked.reference}/move",
                                    json={"start": "2026-12-04T14:30"})
    assert moved.status_code == 202, moved.text
    await system.idle()
    assert told(system, mark) == [f"Bella Hair Studio has moved your Haircut to Fri, Dec 4 at "
                                  f"2:30 PM; it is confirmed (ref {booked.reference})."]
    booking = await the_booking(system)
    assert booking.starts_at == datetime(2026, 12, 4, 14, 30, tzinfo=NY)
    (event,) = await published(system, "booking.rescheduled.v1")
    assert event["reference"] == booked.reference


async def test_a_time_taken_between_the_check_and_the_move_alerts_staff(
        booked: Booked) -> None:
    """admin checked the time; by the time fsm moves it, it is gone: nothing moves, the
    customer hears nothing, staff are told."""
    system = booked.system
    for customer in (BOB, "+12125550843"):
        for text in ("haircut friday at 11am", "yes"):
            await say(system, customer, text)
    booking, mark = await the_booking(system), system.mark()
    late = make_envelope(StaffMoveRequested(
        booking_id=booking.id, starts_at=datetime(2026, 12, 4, 11, 0, tzinfo=NY)),
        business_id="salon", occurred_at=system.clock.now())
    await system.transport.publish(late.to_json(), late.type, message_id=str(late.event_id))
    await system.idle()
    assert told(system, mark) == []
    (alert,) = told(system, mark, to=OWNER)
    assert alert.startswith(f"Could not move booking {booking.reference} to Fri, Dec 4 at "
                            "11:00 AM: that time is taken now")
    assert (await the_booking(system)).starts_at == booking.starts_at


async def test_remind_again_sends_the_reminder_now(booked: Booked) -> None:
    system, mark = booked.system, booked.system.mark()
    answer = await booked.admin.post(f"/admin/api/bookings/{booked.reference}/remind")
    assert answer.status_code == 202
    await system.idle()
    (text,) = told(system, mark)
    assert text.startswith("Reminder from Bella Hair Studio: your Haircut is on Thu, Dec 3 "
                           "at 10:00 AM.")
    await say(system, ALICE, "C")  # the answer is about that booking
    assert (await the_booking(system)).attendance_confirmed


async def test_a_takeover_silences_the_bot_until_it_is_released(booked: Booked) -> None:
    system = booked.system
    async with system.sessions() as session:
        alice = (await session.scalars(select(Customer).where(
            Customer.address == ALICE))).one()
    on = await booked.admin.put(f"/admin/api/customers/{alice.id}/takeover",
                                json={"on": True})
    assert on.status_code == 202
    await system.idle()
    mark = system.mark()
    await say(system, ALICE, "what are your hours?")
    await say(system, ALICE, "can i move my haircut to friday at 2pm")
    assert told(system, mark) == []  # recorded, not answered
    assert await system.state(customer=ALICE, business_id="salon") == "IDLE"
    detail = (await booked.admin.get(f"/admin/api/bookings/{booked.reference}")).json()
    assert detail["conversation"]["taken_over"] is True
    assert [m["text"] for m in detail["conversation"]["received_while_taken_over"]] == [
        "what are your hours?", "can i move my haircut to friday at 2pm"]
    # What staff ask for is still said.
    answer = await booked.admin.post(f"/admin/api/bookings/{booked.reference}/remind")
    assert answer.status_code == 202
    await system.idle()
    assert len(told(system, mark)) == 1

    off = await booked.admin.put(f"/admin/api/customers/{alice.id}/takeover",
                                 json={"on": False})
    assert off.status_code == 202
    await system.idle()
    mark = system.mark()
    await say(system, ALICE, "what are your hours?")
    assert len(told(system, mark)) == 1  # the bot answers again
    async with system.sessions() as session:
        conversation = (await session.scalars(select(Conversation).where(
            Conversation.customer_id == alice.id))).one()
        recorded = (await session.scalars(select(TakeoverMessage.text))).all()
        actions = (await session.scalars(select(AdminAudit.action)
                                          .order_by(AdminAudit.id))).all()
    assert conversation.taken_over_at is None and conversation.released_at is not None
    assert len(recorded) == 2  # nothing recorded once released
    assert actions == ["conversation.takeover", "booking.remind", "conversation.release"]
