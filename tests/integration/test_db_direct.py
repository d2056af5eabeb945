"""`libs.db.direct`: a Core statement compiled once and run by psycopg on the session's own
connection behaves as the session's `execute` would: inside its transaction, after its
autoflush, with the same parameter types, the same exceptions and the same listeners."""

from __future__ import annotations

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
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.bus.models import InboxMessage, OutboxMessage
from libs.db.direct import Direct, NotDirect
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
