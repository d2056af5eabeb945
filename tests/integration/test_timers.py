"""Durable timers over real PostgreSQL: claimed on a lease, fired in the handler's own
transaction, each exactly once however many tickers run or die."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.bus.context import HandlerContext, PermanentError
from libs.bus.models import OutboxMessage
from libs.clock import SimulatedClock
from libs.contracts.events import CalendarSynced
from libs.timers import service as timers
from libs.timers.models import Timer
from libs.timers.ticker import tick
from tests.helpers import listening, orm_writes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def record(ctx: HandlerContext, timer: Timer, deps: None) -> None:
    """The effect of firing: one outbox row naming the timer."""
    ctx.emit(CalendarSynced(booking_id=timer.id, calendar_event_id=timer.key,
                            action="inserted", synced_at=ctx.clock.now()))


async def schedule(sessions: Sessions, n: int, due: datetime = NOW) -> None:
    async with sessions() as s, s.begin():
        for i in range(n):
            await timers.schedule(s, owner="test", kind="ping", key=f"ping:{i}",
                                  business_id="salon", due_at=due)


async def fired_keys(sessions: Sessions) -> list[str]:
    async with sessions() as s:
        rows = (await s.scalars(select(OutboxMessage.envelope))).all()
    return sorted(r["payload"]["calendar_event_id"] for r in rows)


async def test_two_tickers_racing_fire_each_timer_once(session_factory: Sessions) -> None:
    await schedule(session_factory, 300)
    clock = SimulatedClock(NOW)
    fired = await asyncio.gather(*(tick(session_factory, clock, owner="test",
                                        handlers={"ping": record}, deps=None)
                                   for _ in range(2)))
    assert sum(fired) == 300
    keys = await fired_keys(session_factory)
    assert len(keys) == 300 and len(set(keys)) == 300


async def test_a_ticker_dying_after_its_claim_leaves_the_timer_to_fire_later(
        session_factory: Sessions) -> None:
    await schedule(session_factory, 1)
    clock = SimulatedClock(NOW)
    claimed = await timers.claim_due(session_factory, clock, owner="test")
    assert len(claimed) == 1  # ...and the process dies before firing it
    assert await tick(session_factory, clock, owner="test", handlers={"ping": record},
                      deps=None) == 0  # still leased to the dead ticker
    clock.advance(timers.LEASE)
    assert await tick(session_factory, clock, owner="test", handlers={"ping": record},
                      deps=None) == 1
    assert await fired_keys(session_factory) == ["ping:0"]
    clock.advance(timers.LEASE * 2)
    assert await tick(session_factory, clock, owner="test", handlers={"ping": record},
                      deps=None) == 0


async def test_a_slow_first_ticker_cannot_fire_what_a_second_already_fired(
        session_factory: Sessions) -> None:
    """The lease ran out while the first ticker was calling out; the second fired the timer;
    the first one's commit is refused by the `fired_at` guard and changes nothing."""
    await schedule(session_factory, 1)
    clock = SimulatedClock(NOW)
    (stale,) = await timers.claim_due(session_factory, clock, owner="test")
    clock.advance(timers.LEASE)
    assert await tick(session_factory, clock, owner="test", handlers={"ping": record},
                      deps=None) == 1
    async with session_factory() as s, s.begin():
        assert await timers.mark_fired(s, stale, clock.now()) is False
    assert await fired_keys(session_factory) == ["ping:0"]


async def test_a_moved_timer_is_not_fired_by_an_old_claim(session_factory: Sessions) -> None:
    await schedule(session_factory, 1)
    clock = SimulatedClock(NOW)
    (claimed,) = await timers.claim_due(session_factory, clock, owner="test")
    await schedule(session_factory, 1, due=NOW + timedelta(hours=1))  # rescheduled meanwhile
    async with session_factory() as s, s.begin():
        assert await timers.mark_fired(s, claimed, clock.now()) is False
    clock.advance(timedelta(hours=1))
    assert await tick(session_factory, clock, owner="test", handlers={"ping": record},
                      deps=None) == 1


async def test_a_failing_handler_is_retried_after_its_lease_and_a_permanent_one_dropped(
        session_factory: Sessions) -> None:
    await schedule(session_factory, 2)
    clock = SimulatedClock(NOW)
    attempts: list[str] = []

    async def flaky(ctx: HandlerContext, timer: Timer, deps: None) -> None:
        attempts.append(timer.key)
        if timer.key == "ping:1":
            raise PermanentError("this timer can never work")
        if attempts.count(timer.key) == 1:
            raise ConnectionError("the database blinked")
        await record(ctx, timer, deps)

    assert await tick(session_factory, clock, owner="test", handlers={"ping": flaky},
                      deps=None) == 0
    clock.advance(timers.LEASE)
    assert await tick(session_factory, clock, owner="test", handlers={"ping": flaky},
                      deps=None) == 1
    assert await fired_keys(session_factory) == ["ping:0"]
    assert sorted(attempts) == ["ping:0", "ping:0", "ping:1"]  # the permanent one, once
    async with session_factory() as s:
        unfired = await s.scalar(select(func.count()).select_from(Timer)
                                 .where(Timer.fired_at.is_(None)))
    assert unfired == 0


async def test_next_due_at_waits_for_a_lease(session_factory: Sessions) -> None:
    await schedule(session_factory, 1)
    clock = SimulatedClock(NOW)
    await timers.claim_due(session_factory, clock, owner="test")
    async with session_factory() as s:
        assert await timers.next_due_at(s) == NOW + timers.LEASE


async def _timers(sessions: Sessions) -> dict[str, tuple[str, datetime, dict[str, str], bool]]:
    async with sessions() as s:
        rows = (await s.scalars(select(Timer))).all()
    return {t.key: (t.kind, t.due_at, t.payload, t.fired_at is None) for t in rows}


async def test_timers_scheduled_and_cancelled_together_in_one_statement_each(
        session_factory: Sessions) -> None:
    """A booking's checks are set and removed together: several keys per statement, each
    upserted by its key (a fired one is armed again when moved) and each removed alone."""
    later = NOW + timedelta(hours=2)
    async with session_factory() as s, s.begin():
        await timers.schedule_all(s, owner="test", business_id="salon", timers=[
            timers.NewTimer("ping", "a", NOW, {"n": "1"}),
            timers.NewTimer("pong", "b", NOW, {"n": "2"})])
    clock = SimulatedClock(NOW)
    assert await tick(session_factory, clock, owner="test", handlers={
        "ping": record, "pong": record}, deps=None) == 2
    async with session_factory() as s, s.begin():
        await timers.schedule_all(s, owner="test", business_id="salon", timers=[
            timers.NewTimer("ping", "a", later, {"n": "3"}),
            timers.NewTimer("ping", "c", later)])
    assert await _timers(session_factory) == {
        "a": ("ping", later, {"n": "3"}, True),  # moved, and armed again
        "b": ("pong", NOW, {"n": "2"}, False),   # left as it was: fired
        "c": ("ping", later, {}, True)}
    async with session_factory() as s, s.begin():
        await timers.cancel_all(s, owner="test", keys=["a", "b", "nothing"])
        await timers.cancel_all(s, owner="other", keys=["c"])  # not its owner's
        await timers.schedule_all(s, owner="test", business_id="salon", timers=[])
    assert list(await _timers(session_factory)) == ["c"]


async def test_a_transactions_timer_changes_are_written_in_one_statement(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    """A turn sets some timers and drops others; the last change of a key wins, and all of
    it is one statement."""
    await schedule(session_factory, 2)  # ping:0 and ping:1
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    changes = timers.TimerChanges()
    changes.drop("ping:0")
    changes.set(timers.NewTimer("ping", "ping:2", NOW))
    changes.set(timers.NewTimer("ping", "ping:3", NOW))
    changes.drop("ping:3")  # changed its mind: dropped
    changes.set(timers.NewTimer("ping", "ping:1", NOW + timedelta(hours=1)))
    with listening(engine.sync_engine, "before_cursor_execute", count):
        async with session_factory() as s, s.begin():
            await changes.write(s, owner="test", business_id="salon")
    assert len(sent) == 1
    assert {key: due for key, (_, due, _, _) in (await _timers(session_factory)).items()} == {
        "ping:1": NOW + timedelta(hours=1), "ping:2": NOW}
    with orm_writes() as written:  # each kind of write on the table (docs/scaling.md)
        async with session_factory() as s, s.begin():
            await changes.write(s, owner="test", business_id="salon")  # written: nothing left
            only_drops = timers.TimerChanges()
            only_drops.drop("ping:1")
            await only_drops.write(s, owner="test", business_id="salon")
            await timers.schedule(s, owner="test", kind="ping", key="ping:4",
                                  business_id="salon", due_at=NOW)
    assert list(await _timers(session_factory)) == ["ping:2", "ping:4"]
    assert written == []


async def test_a_due_time_without_a_time_zone_is_refused(session_factory: Sessions) -> None:
    """It would be read back in the database session's zone: wrong by hours, silently."""
    async with session_factory() as s, s.begin():
        with pytest.raises(ValueError, match="time zone"):
            await timers.schedule(s, owner="test", kind="ping", key="naive",
                                  business_id="salon", due_at=datetime(2026, 12, 1, 9, 0))
    assert await _timers(session_factory) == {}


async def test_a_claim_is_one_statement_and_gives_the_oldest_first(
        engine: AsyncEngine, session_factory: Sessions) -> None:
    """Every process that owns timers claims every second, idle or not: one statement, no
    transaction around it. Its rows come back in due order, whatever order the database
    returned them in."""
    async with session_factory() as s, s.begin():
        for i, minutes in enumerate((3, 1, 2)):
            await timers.schedule(s, owner="test", kind="ping", key=f"ping:{i}",
                                  business_id="salon", due_at=NOW - timedelta(minutes=minutes))
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    clock = SimulatedClock(NOW)
    with listening(engine.sync_engine, "before_cursor_execute", count):
        claimed = await timers.claim_due(session_factory, clock, owner="test", limit=2)
        rest = await timers.claim_due(session_factory, clock, owner="test", limit=2)
    assert [t.key for t in claimed] == ["ping:0", "ping:2"]  # 3 and 2 minutes overdue
    assert [t.key for t in rest] == ["ping:1"]
    assert all(t.claimed_until == NOW + timers.LEASE for t in [*claimed, *rest])
    assert len(sent) == 2 and all(s.startswith("UPDATE timers") for s in sent)
