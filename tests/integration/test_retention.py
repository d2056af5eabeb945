"""Bookkeeping rows do not grow forever: inbox, published outbox, fired timer and Stripe
event rows older than the retention are pruned; anything newer, or still pending, stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from libs.bus.models import InboxMessage, OutboxMessage
from libs.runtime.host import prune
from libs.settings import get_settings
from libs.timers.models import Timer
from receptionist.bootstrap import DEFINITIONS
from receptionist.cli import main
from services.payments.models import StripeWebhookEvent

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=30)
Sessions = async_sessionmaker[AsyncSession]


async def seed(sessions: Sessions) -> None:
    async with sessions() as s, s.begin():
        for when, tag in ((OLD, "old"), (NOW, "new")):
            s.add(InboxMessage(consumer="fsm", event_id=uuid.uuid4(), type=tag, handled_at=when))
            s.add(OutboxMessage(event_id=uuid.uuid4(), type=tag, business_id="salon",
                                envelope={}, published_at=when))
            s.add(Timer(owner="payments", kind=tag, key=f"k-{tag}", business_id="salon",
                        due_at=when, fired_at=when))
            s.add(StripeWebhookEvent(id=f"evt_{tag}", type=tag, payload={}, processed_at=when))
        # never published, never fired: kept whatever their age
        s.add(OutboxMessage(event_id=uuid.uuid4(), type="pending", business_id="salon",
                            envelope={}, created_at=OLD))
        s.add(Timer(owner="payments", kind="pending", key="k-pending", business_id="salon",
                    due_at=OLD))


async def left(sessions: Sessions, column: InstrumentedAttribute[str]) -> list[str]:
    async with sessions() as s:
        return sorted(await s.scalars(select(column)))


async def test_prune_removes_only_old_finished_rows(session_factory: Sessions) -> None:
    await seed(session_factory)
    removed = await prune(session_factory, DEFINITIONS, NOW - timedelta(days=7))
    assert removed == 4
    assert await left(session_factory, InboxMessage.type) == ["new"]
    assert await left(session_factory, OutboxMessage.type) == ["new", "pending"]
    assert await left(session_factory, Timer.kind) == ["new", "pending"]
    assert await left(session_factory, StripeWebhookEvent.type) == ["new"]


def test_the_prune_command_uses_the_retention_setting(
        database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE inbox")
        for days, tag in ((4, "older"), (2, "newer")):
            conn.execute("INSERT INTO inbox (consumer, event_id, type, handled_at) "
                         "VALUES ('fsm', %s, %s, now() - make_interval(days => %s))",
                         (uuid.uuid4(), tag, days))
    monkeypatch.setenv("RETENTION_DAYS", "3")
    get_settings.cache_clear()
    try:
        assert main(["prune", "--database-url", database_url]) == 0
    finally:
        get_settings.cache_clear()
    assert "1 rows older than 3 days" in capsys.readouterr().out
    with psycopg.connect(database_url) as conn:
        kept = [row[0] for row in conn.execute("SELECT type FROM inbox")]
    assert kept == ["newer"]
