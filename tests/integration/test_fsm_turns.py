"""Opening a turn over real PostgreSQL: a first message creates the customer and their
conversation in one statement, however the first messages race, and a customer known
without a conversation gets one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import MessageUnderstood, Slots
from libs.contracts.message import Message
from libs.contracts.vocabulary import Intent
from services.fsm.handlers import FsmDeps, on_message_understood
from services.fsm.models import Conversation, Customer
from tests.helpers import FIXTURE_BUSINESSES, handle

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")


@pytest.fixture
async def salon(session_factory: async_sessionmaker[AsyncSession]) -> SimulatedClock:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    return SimulatedClock(datetime(2026, 12, 1, 9, 0, tzinfo=NY))


async def understood(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock,
                     customer: str, intent: Intent = "greeting") -> list[Message]:
    event = MessageUnderstood(
        channel="whatsapp", provider_message_id=uuid.uuid4().hex, customer=customer,
        text=intent, received_at=clock.now(), intent=intent, slots=Slots(), confidence=1.0,
        extractor="test")
    return await handle(on_message_understood, event, FsmDeps(), sessions=sessions,
                        clock=clock, consumer="fsm")


async def rows_of(sessions: async_sessionmaker[AsyncSession], customer: str) -> tuple[int, int]:
    async with sessions() as s:
        customers = await s.scalar(select(func.count()).select_from(Customer)
                                   .where(Customer.address == customer))
        conversations = await s.scalar(
            select(func.count()).select_from(Conversation).join(Customer)
            .where(Customer.address == customer))
    return int(customers or 0), int(conversations or 0)


async def test_first_messages_racing_create_one_customer_and_one_conversation(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    customer = "+15555570001"
    answers = await asyncio.gather(*(understood(session_factory, salon, customer)
                                     for _ in range(4)))
    assert await rows_of(session_factory, customer) == (1, 1)
    for emitted in answers:  # each message was answered, on the channel it came from
        replies = [e for e in emitted if isinstance(e, ReplyRequested)]
        assert len(replies) == 1 and replies[0].channel == "whatsapp"


async def test_a_customer_known_without_a_conversation_gets_one(
        session_factory: async_sessionmaker[AsyncSession], salon: SimulatedClock) -> None:
    customer = "+15555570002"
    async with session_factory() as s, s.begin():
        s.add(Customer(business_id="salon", address=customer, language="es"))
    emitted = await understood(session_factory, salon, customer)
    assert await rows_of(session_factory, customer) == (1, 1)
    assert [type(e) for e in emitted] == [ReplyRequested]
    async with session_factory() as s:
        language = await s.scalar(select(Customer.language).where(
            Customer.address == customer))
    assert language == "es"  # the customer row already there is the one used
