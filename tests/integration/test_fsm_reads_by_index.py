"""What every turn reads of `bookings` it finds by index, however many bookings there have
been: the business's bookings not yet over and the customer's own (`turns._WORLD`), and a
web visitor's bookings of the day (`turns._OPEN_TURN`); the staff's calendar finds a day's
by business and start. Before migration 0017 each of these scanned every booking ever made,
of every business: 57 ms a turn with 180,000 (docs/scaling.md, "Every booking, on every
turn")."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.db.direct import Direct, direct_autocommit
from services.admin.readmodel import appointments
from services.fsm.models import Booking
from services.fsm.turns import _OPEN_TURN, _WORLD

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
PAST_PER_CUSTOMER = 30
CUSTOMERS = 300


@pytest.fixture
async def years_of_bookings(session_factory: async_sessionmaker[AsyncSession],
                            engine: AsyncEngine) -> uuid.UUID:
    """Two businesses with 9,000 past bookings each, a few live ones, and the statistics
    PostgreSQL plans by; a customer of the first who has bookings, returned."""
    async with direct_autocommit(engine) as db:
        cursor = db.driver.cursor()
        await cursor.execute(
            "INSERT INTO businesses (id, name, timezone, currency, owner_phone, profile) "
            "SELECT b, b, 'America/New_York', 'USD', '+15555550100', '{}' "
            "FROM unnest(ARRAY['salon', 'barber']) AS b")
        await cursor.execute(
            "INSERT INTO customers (id, business_id, address, origin) "
            "SELECT gen_random_uuid(), b, '+1555' || lpad(g::text, 7, '0'), md5(b || g) "
            "FROM unnest(ARRAY['salon', 'barber']) AS b, generate_series(1, %s) AS g",
            (CUSTOMERS,))
        await cursor.execute(
            "INSERT INTO bookings (id, reference, business_id, customer_id, service, resource,"
            " starts_at, ends_at, status, created_at) "
            "SELECT gen_random_uuid(), left(md5(c.id::text || k), 16), c.business_id, c.id,"
            " 'Haircut', k %% 3 + 1, %(now)s - (k * 7 + c.n %% 7) * interval '1 day',"
            " %(now)s - (k * 7 + c.n %% 7) * interval '1 day' + interval '30 minutes',"
            " CASE WHEN k %% 5 = 0 THEN 'cancelled' ELSE 'completed' END,"
            " %(now)s - (k * 7 + c.n %% 7 + 2) * interval '1 day' "
            "FROM (SELECT id, business_id, row_number() OVER () AS n FROM customers) AS c,"
            " generate_series(1, %(past)s) AS k",
            {"now": NOW, "past": PAST_PER_CUSTOMER})
        await cursor.execute(
            "INSERT INTO bookings (id, reference, business_id, customer_id, service, resource,"
            " starts_at, ends_at, status, created_at) "
            "SELECT gen_random_uuid(), left(md5(id::text), 16), business_id, id, 'Haircut', 1,"
            " %(now)s + n * interval '1 hour', %(now)s + n * interval '1 hour' + interval"
            " '30 minutes', 'confirmed', %(now)s - interval '1 hour' "
            "FROM (SELECT id, business_id, row_number() OVER () AS n FROM customers) AS c "
            "WHERE n <= 40", {"now": NOW})
        await cursor.execute("ANALYZE businesses, customers, bookings")
        await cursor.execute(
            "SELECT customer_id FROM bookings WHERE business_id = 'salon' AND starts_at > %s "
            "LIMIT 1", (NOW,))
        row = await cursor.fetchone()
        assert row is not None
        return uuid.UUID(str(row[0]))


async def plan(engine: AsyncEngine, sql: str, params: Mapping[str, Any]) -> str:
    async with direct_autocommit(engine) as db:
        cursor = db.driver.cursor()
        await cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in await cursor.fetchall())


def window() -> dict[str, datetime]:
    return {"window_start": NOW - timedelta(days=1), "horizon": NOW + timedelta(days=62)}


async def test_a_turns_world_reads_the_bookings_not_yet_over_and_the_customers_by_index(
        years_of_bookings: uuid.UUID, engine: AsyncEngine) -> None:
    explained = await plan(engine, _WORLD.sql, _WORLD.parameters({
        "business_id": "salon", "customer_id": years_of_bookings, **window()}))
    assert "Seq Scan on bookings" not in explained, explained
    assert "ix_bookings_business_ends_at" in explained
    assert "ix_bookings_customer_id" in explained


async def test_a_web_visitors_bookings_of_the_day_are_counted_by_index(
        years_of_bookings: uuid.UUID, engine: AsyncEngine) -> None:
    explained = await plan(engine, _OPEN_TURN.sql, _OPEN_TURN.parameters({
        "business_id": "salon", "address": "+15550000001", "web": True,
        "web_origin": "an origin", "day_ago": NOW - timedelta(days=1), **window()}))
    assert "Seq Scan on bookings" not in explained, explained


async def test_the_staff_calendar_reads_a_day_by_index(
        years_of_bookings: uuid.UUID, engine: AsyncEngine) -> None:
    day = appointments("salon").where(Booking.starts_at >= NOW,
                                      Booking.starts_at < NOW + timedelta(days=1))
    compiled = Direct.of(day)
    explained = await plan(engine, compiled.sql, compiled.parameters({}))
    assert "Seq Scan on bookings" not in explained, explained

