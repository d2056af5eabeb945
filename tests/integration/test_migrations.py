"""The Alembic history builds exactly the schema the models declare."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from receptionist import migrate
from receptionist.schema import metadata

pytestmark = pytest.mark.integration


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


def test_the_whatsapp_windows_notifier_kept_move_to_the_conversations_and_back(
        fresh_database: str) -> None:
    """0016: notifier's windows become the conversations' latest WhatsApp message (a
    customer without one keeps none), and going back rebuilds them from there."""
    url = fresh_database
    migrate.upgrade_sync(url, "0015")
    wrote = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO businesses (id, name, timezone, currency, owner_phone, "
                     "profile) VALUES ('salon', 'Salon', 'America/New_York', 'usd', "
                     "'+15555550000', '{}')")
        for n, address in enumerate(("+15555550101", "+15555550102")):
            conn.execute("INSERT INTO customers (id, business_id, address) VALUES (%s, "
                         "'salon', %s)", (uuid.UUID(int=n + 1), address))
            conn.execute("INSERT INTO conversations (id, customer_id, business_id, channel) "
                         "VALUES (%s, %s, 'salon', 'whatsapp')",
                         (uuid.UUID(int=n + 10), uuid.UUID(int=n + 1)))
        conn.execute("INSERT INTO notifier_windows VALUES ('salon', '+15555550101', %s)",
                     (wrote,))
    migrate.upgrade_sync(url)
    with psycopg.connect(dsn) as conn:
        carried = conn.execute("SELECT cu.address, c.whatsapp_received_at FROM conversations c "
                               "JOIN customers cu ON cu.id = c.customer_id "
                               "ORDER BY cu.address").fetchall()
        assert carried == [("+15555550101", wrote), ("+15555550102", None)]
        assert conn.execute("SELECT to_regclass('notifier_windows')").fetchone() == (None,)
    asyncio.run(migrate.downgrade(url, "0015"))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT business_id, customer, last_inbound_at "
                            "FROM notifier_windows").fetchall() == [
            ("salon", "+15555550101", wrote)]
