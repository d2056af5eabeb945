"""`services.fsm.bookings`: a booking row as a turn's effects write it, on a pooled
connection (or a session) through `Direct` statements: read back whole, written only when an
effect changed it, and still guarded by the exclusion constraint."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.db.direct import direct_transaction
from services.fsm import bookings
from services.fsm.bookings import TurnBooking
from services.fsm.models import Customer
from tests.helpers import FIXTURE_BUSINESSES, listening

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
async def customer_id(session_factory: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
        customer = Customer(business_id="salon", address="+15555570100")
        s.add(customer)
        await s.flush()
        return customer.id


def held(customer_id: uuid.UUID, *, hours: int = 0, resource: int = 1) -> TurnBooking:
    start = START + timedelta(hours=hours)
    return TurnBooking(
        id=uuid.uuid4(), reference=uuid.uuid4().hex[:6].upper(), business_id="salon",
        customer_id=customer_id, service="Haircut", resource=resource, starts_at=start,
        ends_at=start + timedelta(minutes=45), status="held", deposit_status="pending",
        created_at=START, updated_at=START, deposit_amount=Decimal("10.00"),
        deposit_requests=1, hold_expires_at=START + timedelta(minutes=15))


async def test_a_booking_added_is_read_back_whole(engine: AsyncEngine,
                                                   customer_id: uuid.UUID) -> None:
    booking = held(customer_id)
    async with direct_transaction(engine) as db:
        await bookings.add(db, booking)
    async with direct_transaction(engine) as db:
        assert await bookings.locked(db, booking.id) == booking


async def test_a_booking_is_written_only_when_the_block_changed_it(
        engine: AsyncEngine, customer_id: uuid.UUID) -> None:
    booking = held(customer_id)
    async with direct_transaction(engine) as db:
        await bookings.add(db, booking)
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split()[0])

    with listening(engine.sync_engine, "before_cursor_execute", record):
        async with direct_transaction(engine) as db, bookings.changing(db, booking.id) as same:
            assert same == booking
        async with direct_transaction(engine) as db, bookings.changing(db, booking.id) as paid:
            paid.status, paid.deposit_status = "confirmed", "paid"
            paid.deposit_paid_amount, paid.no_show_risk = Decimal("10.00"), "low"
    assert sent == ["SELECT", "SELECT", "UPDATE"]
    async with direct_transaction(engine) as db:
        assert await bookings.locked(db, booking.id) == paid


async def test_a_booking_that_is_not_there_is_an_error(engine: AsyncEngine) -> None:
    with pytest.raises(sa_exc.NoResultFound):
        async with direct_transaction(engine) as db:
            await bookings.locked(db, uuid.uuid4())


async def test_an_overlapping_live_booking_is_refused_by_the_exclusion_constraint(
        engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession],
        customer_id: uuid.UUID) -> None:
    """What `turns.play` turns into a `Conflict` (the turn runs again on fresh data)."""
    async with direct_transaction(engine) as db:
        await bookings.add(db, held(customer_id))
    with pytest.raises(sa_exc.IntegrityError, match="no_overlapping_live_bookings"):
        async with session_factory() as s, s.begin():
            await bookings.add(s, held(customer_id))  # the same resource and time
    async with direct_transaction(engine) as db:
        await bookings.add(db, held(customer_id, resource=2))  # another chair: fine


async def test_a_moves_held_time_is_released_or_dropped(
        engine: AsyncEngine, customer_id: uuid.UUID) -> None:
    moved, other = held(customer_id), held(customer_id, hours=2)
    hold = held(customer_id, hours=4)
    hold.holds_for = moved.id
    second = held(customer_id, hours=6)
    second.holds_for = other.id
    async with direct_transaction(engine) as db:
        for booking in (moved, other, hold, second):
            await bookings.add(db, booking)
        freed = await bookings.release_move_hold(db, moved.id, START + timedelta(hours=1))
        assert freed == [(hold.starts_at, hold.ends_at)]
        assert await bookings.release_move_hold(db, moved.id, START) == []  # expired now
        assert (await bookings.locked(db, hold.id)).status == "expired"
        await bookings.drop_move_hold(db, other.id)
    with pytest.raises(sa_exc.NoResultFound):
        async with direct_transaction(engine) as db:
            await bookings.locked(db, second.id)
