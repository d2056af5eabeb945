"""No double booking by construction: PostgreSQL refuses overlapping live bookings."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.profile import load_profile
from libs.business.service import import_profile
from services.fsm.models import Booking, Customer
from tests.helpers import FIXTURE_BUSINESSES, eventually

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


async def _customers(sessions: async_sessionmaker[AsyncSession], n: int) -> list[uuid.UUID]:
    async with sessions() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
        customers = [Customer(business_id="salon", address=f"+1555555010{i}") for i in range(n)]
        s.add_all(customers)
    return [c.id for c in customers]


def _booking(customer_id: uuid.UUID, *, start: datetime, minutes: int = 45, resource: int = 1,
             status: str = "confirmed") -> Booking:
    return Booking(reference=uuid.uuid4().hex[:8].upper(), business_id="salon",
                   customer_id=customer_id, service="Haircut", resource=resource,
                   starts_at=start, ends_at=start + timedelta(minutes=minutes), status=status)


async def _insert(sessions: async_sessionmaker[AsyncSession], booking: Booking) -> bool:
    try:
        async with sessions() as s, s.begin():
            s.add(booking)
        return True
    except IntegrityError as exc:
        assert "no_overlapping_live_bookings" in str(exc)
        return False


async def _someone_waits_on_a_lock(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as s:
        waiting = await s.scalar(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
    return bool(waiting)


async def test_two_concurrent_overlapping_bookings_one_fails(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    a, b = await _customers(session_factory, 2)
    async with session_factory() as first:
        await first.begin()
        first.add(_booking(a, start=START))
        await first.flush()  # inserted, not committed
        second = asyncio.create_task(
            _insert(session_factory, _booking(b, start=START + timedelta(minutes=30))))
        # The second insert is now blocked inside PostgreSQL on the first one's row.
        await eventually(lambda: _someone_waits_on_a_lock(session_factory),
                         what="the second insert to wait on the first")
        await first.commit()
    assert await asyncio.wait_for(second, timeout=30) is False
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 1


async def test_overlap_allowed_on_another_resource_back_to_back_and_when_not_live(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    a, b = await _customers(session_factory, 2)
    assert await _insert(session_factory, _booking(a, start=START))
    assert await _insert(session_factory, _booking(b, start=START, resource=2))
    assert await _insert(session_factory, _booking(b, start=START + timedelta(minutes=45)))
    assert await _insert(session_factory, _booking(b, start=START, status="cancelled"))
    assert not await _insert(session_factory, _booking(b, start=START + timedelta(minutes=10),
                                                       status="held"))


async def test_the_same_resource_and_time_at_another_business_is_free(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    (a,) = await _customers(session_factory, 1)
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "barber.yaml"))
        other = Customer(business_id="barber", address="+15555550199")
        s.add(other)
    assert await _insert(session_factory, _booking(a, start=START))
    elsewhere = _booking(other.id, start=START)
    elsewhere.business_id = "barber"
    assert await _insert(session_factory, elsewhere)
