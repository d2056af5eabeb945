"""`libs.db.direct`: a Core statement compiled once and run by psycopg on the session's own
connection behaves as the session's `execute` would: inside its transaction, after its
autoflush, with the same parameter types, the same exceptions and the same listeners. On a
pooled connection without a session (`direct_transaction`, `direct_autocommit`) it commits,
rolls back, fails and is counted as a session's would, and the pool gets its connection
back, or loses it if it broke."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg.errors
import pytest
from sqlalchemy import (
    ARRAY,
    Table,
    Text,
    any_,
    bindparam,
    exc as sa_exc,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from libs.bus.faults import is_transient
from libs.bus.models import InboxMessage, OutboxMessage
from libs.db.direct import Direct, NotDirect, direct_autocommit, direct_transaction
from libs.db.session import autocommit_sessions
from libs.logs import log_context
from libs.metrics import DB_STATEMENTS
from libs.timers.models import Timer
from tests.helpers import listening

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
INBOX = cast(Table, InboxMessage.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
TIMERS = cast(Table, Timer.__table__)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

RECORD = Direct.of(insert(INBOX).values(consumer=bindparam("consumer"),
                                        event_id=bindparam("event_id"), type="test.v1")
                   .returning(INBOX.c.event_id, INBOX.c.type))
COUNT = Direct.of(select(func.count()).select_from(INBOX)
                  .where(INBOX.c.consumer == bindparam("consumer")))
TYPES_OF = Direct.of(select(INBOX.c.consumer, INBOX.c.type)
                     .where(INBOX.c.consumer == any_(bindparam("consumers", type_=ARRAY(Text))))
                     .order_by(INBOX.c.consumer))


async def count(sessions: Sessions, consumer: str) -> int:
    async with sessions() as s:
        return int(await COUNT.scalar(s, {"consumer": consumer}) or 0)


async def test_it_is_part_of_the_sessions_transaction(session_factory: Sessions) -> None:
    """It commits with the transaction, and rolls back with it."""
    async with session_factory() as s, s.begin():
        row = await RECORD.first(s, {"consumer": "kept", "event_id": uuid.uuid4()})
        await s.execute(insert(INBOX).values(consumer="kept", event_id=uuid.uuid4(),
                                             type="orm.v1"))  # the session's own, between
        await RECORD.first(s, {"consumer": "kept", "event_id": uuid.uuid4()})
    assert row is not None and row.type == row[1] == "test.v1"
    async with session_factory() as s:
        await s.begin()
        await RECORD.first(s, {"consumer": "dropped", "event_id": uuid.uuid4()})
        await s.rollback()
    assert (await count(session_factory, "kept"), await count(session_factory, "dropped")) \
        == (3, 0)


async def test_a_session_used_for_two_transactions_runs_each_on_its_own_connection(
        session_factory: Sessions) -> None:
    """The connection kept for the session's transaction is not reused after it ends."""
    async with session_factory() as s:
        async with s.begin():
            await RECORD.first(s, {"consumer": "first", "event_id": uuid.uuid4()})
        async with s.begin():
            await RECORD.first(s, {"consumer": "second", "event_id": uuid.uuid4()})
            await s.rollback()
        async with s.begin():
            await RECORD.first(s, {"consumer": "third", "event_id": uuid.uuid4()})
    assert [await count(session_factory, c) for c in ("first", "second", "third")] == [1, 0, 1]


async def test_in_an_autocommit_session_each_statement_commits_by_itself(
        session_factory: Sessions) -> None:
    async with autocommit_sessions(session_factory)() as s:
        await RECORD.first(s, {"consumer": "autocommit", "event_id": uuid.uuid4()})
        async with session_factory() as other:  # another connection sees it at once
            assert await COUNT.scalar(other, {"consumer": "autocommit"}) == 1


async def test_what_the_orm_holds_unwritten_is_flushed_first(session_factory: Sessions) -> None:
    async with session_factory() as s, s.begin():
        s.add(InboxMessage(consumer="pending", event_id=uuid.uuid4(), type="orm.v1"))
        assert await COUNT.scalar(s, {"consumer": "pending"}) == 1
        s.add(InboxMessage(consumer="pending", event_id=uuid.uuid4(), type="orm.v1"))
        with s.no_autoflush:  # as the session's own statements: not flushed
            assert await COUNT.scalar(s, {"consumer": "pending"}) == 1
    assert await count(session_factory, "pending") == 2


async def test_parameters_and_rows_have_the_types_sqlalchemy_gives(
        session_factory: Sessions) -> None:
    """JSON in and out, arrays, literals bound in the statement (`fired_at=None`),
    timestamps with their zone, uuids; rows by name and by position."""
    upsert = Direct.of(insert(TIMERS).values(
        id=bindparam("id"), owner="test", kind="ping", key=bindparam("key"),
        business_id="salon", due_at=bindparam("due_at"),
        payload=bindparam("payload", type_=JSONB)).returning(TIMERS.c.id, TIMERS.c.payload))
    fire = Direct.of(update(TIMERS).where(TIMERS.c.key == any_(bindparam("keys",
                                                                        type_=ARRAY(Text))))
                     .values(fired_at=bindparam("at"), claimed_until=None))
    read = Direct.of(select(TIMERS.c.key, TIMERS.c.due_at, TIMERS.c.payload,
                            TIMERS.c.fired_at).order_by(TIMERS.c.key))
    payload: dict[str, Any] = {"booking_id": str(uuid.uuid4()), "n": [1, 2.5, None, "x"]}
    timer_id = uuid.uuid4()
    async with session_factory() as s, s.begin():
        row = await upsert.first(s, {"id": timer_id, "key": "a", "due_at": NOW,
                                     "payload": payload})
        await upsert.first(s, {"id": uuid.uuid4(), "key": "b", "due_at": NOW,
                               "payload": {}})
        assert await fire.rowcount(s, {"keys": ["a", "zzz"], "at": NOW}) == 1
        rows = await read.all(s)
    assert row is not None and row.id == timer_id and row.payload == payload
    assert [(r.key, r.due_at, r.payload, r.fired_at) for r in rows] == [
        ("a", NOW, payload, NOW), ("b", NOW, {}, None)]
    assert rows[0].due_at.utcoffset() == timedelta(0)
    async with session_factory() as s:  # what the session itself reads back
        orm = (await s.scalars(select(Timer).where(Timer.key == "a"))).one()
    assert (orm.id, orm.payload, orm.due_at, orm.fired_at) == (timer_id, payload, NOW, NOW)


async def test_none_for_a_json_parameter_is_json_null_as_the_session_sends_it(
        session_factory: Sessions) -> None:
    """A type's processor sees None too: SQLAlchemy sends None for a JSON column as JSON
    `null`, not SQL NULL, and so does a `Direct` statement."""
    add = insert(TIMERS).values(id=bindparam("id"), owner="test", kind="ping",
                                key=bindparam("key"), business_id="salon", due_at=NOW,
                                payload=bindparam("payload", type_=JSONB))
    async with session_factory() as s, s.begin():
        await Direct.of(add).rowcount(s, {"id": uuid.uuid4(), "key": "direct", "payload": None})
        await s.execute(add, {"id": uuid.uuid4(), "key": "session", "payload": None})
        stored = (await s.execute(select(TIMERS.c.key, TIMERS.c.payload.is_(None),
                                         func.jsonb_typeof(TIMERS.c.payload))
                                  .order_by(TIMERS.c.key))).all()
    assert [tuple(r) for r in stored] == [("direct", False, "null"), ("session", False, "null")]


async def test_arrays_and_json_lists_are_passed_whole(session_factory: Sessions) -> None:
    consumers = ["a", "b", "c"]
    async with session_factory() as s, s.begin():
        for consumer in consumers:
            await RECORD.first(s, {"consumer": consumer, "event_id": uuid.uuid4()})
        found = await TYPES_OF.all(s, {"consumers": ["c", "a", "nobody"]})
        none = await TYPES_OF.all(s, {"consumers": []})
    assert [tuple(r) for r in found] == [("a", "test.v1"), ("c", "test.v1")]
    assert none == []


async def test_a_missing_or_unknown_parameter_is_refused_before_anything_is_sent(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    sent: list[str] = []
    with listening(engine.sync_engine, "before_cursor_execute",
                   lambda *args: sent.append(args[2])):
        async with session_factory() as s:
            with pytest.raises(sa_exc.ArgumentError, match="required for \\['event_id'\\]"):
                await RECORD.first(s, {"consumer": "x"})
            with pytest.raises(sa_exc.ArgumentError, match="no parameter \\['typo'\\]"):
                await RECORD.first(s, {"consumer": "x", "event_id": uuid.uuid4(),
                                       "typo": 1})
    assert sent == []


def test_a_statement_whose_sql_changes_with_its_parameters_is_refused() -> None:
    """`in_()` of a list, or a value rendered as a literal, is rendered again on every call:
    such a statement cannot be compiled once."""
    with pytest.raises(NotDirect, match="any_"):
        Direct.of(select(INBOX.c.type).where(INBOX.c.consumer.in_(bindparam(
            "consumers", expanding=True))))
    with pytest.raises(NotDirect, match="literal_execute"):
        Direct.of(select(INBOX.c.type).where(INBOX.c.consumer == bindparam(
            "consumer", literal_execute=True)))


async def test_a_failure_is_raised_as_sqlalchemy_raises_it(session_factory: Sessions) -> None:
    """The same exception class (the callers' handling and the transient-error
    classification see no difference), the statement named, the values bound to it not
    (`make_engine`'s `hide_parameters`; PostgreSQL's own detail is its own)."""
    event_id = uuid.uuid4()
    async with session_factory() as s, s.begin():
        await RECORD.first(s, {"consumer": "twice", "event_id": event_id})
    async with session_factory() as s:
        await s.begin()
        with pytest.raises(sa_exc.IntegrityError) as raised:
            await RECORD.first(s, {"consumer": "twice", "event_id": event_id})
        await s.rollback()
        async with s.begin():  # the session goes on, on a good connection
            await RECORD.first(s, {"consumer": "twice", "event_id": uuid.uuid4()})
    assert isinstance(raised.value.orig, psycopg.errors.UniqueViolation)
    assert "INSERT INTO inbox" in str(raised.value)
    assert "[parameters" not in str(raised.value)
    assert await count(session_factory, "twice") == 2


async def test_the_engines_listeners_and_the_statement_counter_see_it(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    seen: list[tuple[str, str]] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(("before", statement.split()[0]))

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(("after", statement.split()[0]))

    counter = DB_STATEMENTS.labels("direct-test")
    counted = counter._value.get()
    with listening(engine.sync_engine, "before_cursor_execute", before), \
            listening(engine.sync_engine, "after_cursor_execute", after), \
            log_context(service="direct-test"):
        async with session_factory() as s, s.begin():
            await RECORD.first(s, {"consumer": "seen", "event_id": uuid.uuid4()})
            await COUNT.scalar(s, {"consumer": "seen"})
    assert seen == [("before", "INSERT"), ("after", "INSERT"),
                    ("before", "SELECT"), ("after", "SELECT")]
    assert counter._value.get() == counted + 2


# --- a pooled connection without the session ----------------------------------------------


def checked_out(engine: AsyncEngine) -> int:
    """How many of the pool's connections are out now."""
    return cast(QueuePool, engine.pool).checkedout()


async def test_a_direct_transaction_commits_when_its_block_ends_and_rolls_back_if_it_raises(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    async with direct_transaction(engine) as db:
        await RECORD.first(db, {"consumer": "pooled", "event_id": uuid.uuid4()})
        assert await count(session_factory, "pooled") == 0  # not committed yet
        await RECORD.first(db, {"consumer": "pooled", "event_id": uuid.uuid4()})
    with pytest.raises(LookupError):
        async with direct_transaction(engine) as db:
            await RECORD.first(db, {"consumer": "pooled", "event_id": uuid.uuid4()})
            raise LookupError("the handler failed")
    assert await count(session_factory, "pooled") == 2
    assert checked_out(engine) == 0  # both went back to the pool


async def test_direct_autocommit_commits_each_statement_and_returns_the_connection_as_it_was(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    async with direct_autocommit(engine) as db:
        await RECORD.first(db, {"consumer": "by itself", "event_id": uuid.uuid4()})
        assert await count(session_factory, "by itself") == 1  # seen at once elsewhere
        with pytest.raises(sa_exc.IntegrityError):
            await RECORD.first(db, {"consumer": "by itself", "event_id": None})
        await RECORD.first(db, {"consumer": "by itself", "event_id": uuid.uuid4()})
    for _ in range(3):  # whichever pooled connection comes next is transactional again
        with pytest.raises(LookupError):
            async with direct_transaction(engine) as db:
                await RECORD.first(db, {"consumer": "by itself", "event_id": uuid.uuid4()})
                raise LookupError("rolled back")
    assert await count(session_factory, "by itself") == 2


async def test_many_sends_the_statement_for_each_row_and_nothing_for_none(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    sent: list[str] = []
    add = Direct.of(insert(INBOX).values(consumer=bindparam("consumer"),
                                         event_id=bindparam("event_id"), type="many.v1"))
    with listening(engine.sync_engine, "before_cursor_execute",
                   lambda _c, _k, statement, _p, _x, many: sent.append(f"{many}")):
        async with direct_transaction(engine) as db:
            await add.many(db, [{"consumer": "many", "event_id": uuid.uuid4()}
                                for _ in range(3)])
            await add.many(db, [])
        async with session_factory() as s, s.begin():
            await add.many(s, [{"consumer": "many", "event_id": uuid.uuid4()}])
    assert sent == ["True", "True"]
    assert await count(session_factory, "many") == 4
    with pytest.raises(sa_exc.ArgumentError, match="required"):
        async with direct_transaction(engine) as db:
            await add.many(db, [{"consumer": "many"}])


async def test_a_failure_on_a_pooled_connection_is_sqlalchemys_and_the_connection_recovers(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    event_id = uuid.uuid4()
    async with direct_transaction(engine) as db:
        await RECORD.first(db, {"consumer": "pooled twice", "event_id": event_id})
    with pytest.raises(sa_exc.IntegrityError) as raised:
        async with direct_transaction(engine) as db:
            await RECORD.first(db, {"consumer": "pooled twice", "event_id": uuid.uuid4()})
            await RECORD.first(db, {"consumer": "pooled twice", "event_id": event_id})
    assert isinstance(raised.value.orig, psycopg.errors.UniqueViolation)
    assert "[parameters" not in str(raised.value)
    async with direct_transaction(engine) as db:  # rolled back: the next one is clean
        await RECORD.first(db, {"consumer": "pooled twice", "event_id": uuid.uuid4()})
    assert await count(session_factory, "pooled twice") == 2


DEFERRED = Direct.of(text(
    "CREATE TEMP TABLE deferred_once (n int UNIQUE DEFERRABLE INITIALLY DEFERRED) "
    "ON COMMIT DROP"))
TWO_ALIKE = Direct.of(text("INSERT INTO deferred_once VALUES (1), (1)"))


async def test_a_failure_to_commit_is_raised_as_sqlalchemy_raises_it(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    with pytest.raises(sa_exc.IntegrityError) as raised:
        async with direct_transaction(engine) as db:
            await DEFERRED.rowcount(db)
            await TWO_ALIKE.rowcount(db)
            await RECORD.first(db, {"consumer": "not committed", "event_id": uuid.uuid4()})
    assert isinstance(raised.value.orig, psycopg.errors.UniqueViolation)
    assert "COMMIT" in str(raised.value)
    assert await count(session_factory, "not committed") == 0
    assert checked_out(engine) == 0


async def test_a_connection_that_broke_is_dropped_from_the_pool_and_the_failure_is_transient(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    pid = Direct.of(select(func.pg_backend_pid()))
    kill = Direct.of(select(func.pg_terminate_backend(bindparam("pid"))))
    with pytest.raises(sa_exc.OperationalError) as raised:
        async with direct_transaction(engine) as db:
            backend = await pid.scalar(db)
            async with direct_autocommit(engine) as other:
                assert await kill.scalar(other, {"pid": backend}) is True
            await RECORD.first(db, {"consumer": "lost", "event_id": uuid.uuid4()})
    assert is_transient(raised.value)
    assert checked_out(engine) == 0
    for _ in range(3):  # no pooled connection is the dead one
        async with direct_transaction(engine) as db:
            assert await pid.scalar(db) != backend
    assert await count(session_factory, "lost") == 0


async def test_the_listeners_and_the_counter_see_a_pooled_connections_statements(
        engine: AsyncEngine) -> None:
    seen: list[str] = []
    counter = DB_STATEMENTS.labels("direct-pooled-test")
    counted = counter._value.get()
    with listening(Engine, "after_cursor_execute",
                   lambda _c, _k, statement, *_: seen.append(statement.split()[0])), \
            log_context(service="direct-pooled-test"):
        async with direct_autocommit(engine) as db:
            await COUNT.scalar(db, {"consumer": "nobody"})
        async with direct_transaction(engine) as db:
            await RECORD.first(db, {"consumer": "counted", "event_id": uuid.uuid4()})
    assert seen == ["SELECT", "INSERT"]
    assert counter._value.get() == counted + 2


SLEEP = Direct.of(select(func.pg_sleep(bindparam("seconds"))))


async def test_a_block_cancelled_mid_statement_hands_on_a_clean_connection(
        session_factory: Sessions, engine: AsyncEngine) -> None:
    """A handler cancelled while its statement runs (a shutdown, a timeout): psycopg cancels
    the statement, the transaction is rolled back, and the connection goes back to the pool
    in no transaction and running nothing (one left mid-statement would be dropped)."""
    sleeping = Direct.of(select(func.count()).select_from(text("pg_stat_activity")).where(
        text("state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")))
    in_transaction = Direct.of(select(func.txid_current_if_assigned()))
    for opening in (direct_transaction, direct_autocommit):

        async def slow(opening: Any = opening) -> None:
            async with opening(engine) as db:
                await RECORD.first(db, {"consumer": "cancelled", "event_id": uuid.uuid4()})
                await SLEEP.scalar(db, {"seconds": 5})

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow(), timeout=0.5)
        assert checked_out(engine) == 0
        async with direct_transaction(engine) as db:
            assert await sleeping.scalar(db) == 0
            assert await in_transaction.scalar(db) is None  # nothing left over from before
    assert await count(session_factory, "cancelled") == 1  # the autocommit block's, alone
