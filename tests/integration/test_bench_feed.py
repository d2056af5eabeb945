"""The bench's reply feed (`benchmarks/customers.py`, `ReplyFeed`) hands each sent customer
reply out once, whatever order the rows become visible in, and reads only what it has not
handed out yet: it polls every few milliseconds beside the system it measures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from benchmarks.customers import ReplyFeed

pytestmark = pytest.mark.integration

BUSINESS = "demo-salon"


@pytest.fixture
async def log_table(fresh_database: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """A database with `message_log`'s columns the feed reads, and a connection to it."""
    async with await psycopg.AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        await conn.execute(
            'CREATE TABLE message_log (seq integer PRIMARY KEY, business_id text, "to" text,'
            " body text, status text, audience text, updated_at timestamptz DEFAULT now())")
        yield conn


async def add(conn: psycopg.AsyncConnection, seq: int, to: str, body: str, *,
              status: str = "sent", audience: str = "customer") -> None:
    await conn.execute(
        'INSERT INTO message_log (seq, business_id, "to", body, status, audience) '
        "VALUES (%s, %s, %s, %s, %s, %s)", (seq, BUSINESS, to, body, status, audience))


def taken(feed: ReplyFeed, to: str) -> list[str]:
    box = feed.box(BUSINESS, to)
    return [box.get_nowait().body for _ in range(box.qsize())]


async def test_each_sent_reply_is_handed_out_once_in_any_order_of_commits(
        log_table: psycopg.AsyncConnection) -> None:
    feed = ReplyFeed("unused: the test polls on its own connection")
    await add(log_table, 1, "+15550001", "one")
    await add(log_table, 2, "+15550002", "two")
    await add(log_table, 4, "+15550001", "four")  # 3 not committed yet
    await add(log_table, 5, "+15550002", "five", status="sending")
    await add(log_table, 6, "+15550009", "for the owner", audience="staff")
    await feed._poll(log_table)
    assert taken(feed, "+15550001") == ["one", "four"]
    assert taken(feed, "+15550002") == ["two"]  # five is still being sent
    assert taken(feed, "+15550009") == []  # not a customer's

    await add(log_table, 3, "+15550001", "three")
    await log_table.execute("UPDATE message_log SET status = 'sent' WHERE seq = 5")
    await feed._poll(log_table)
    assert taken(feed, "+15550001") == ["three"]
    assert taken(feed, "+15550002") == ["five"]

    read = feed.rows_read
    await feed._poll(log_table)
    assert feed.rows_read == read  # nothing handed out is read again
    assert feed.leftovers() == 0


async def test_the_poll_is_planned_for_its_numbers_each_time_never_prepared(
        log_table: psycopg.AsyncConnection) -> None:
    """A prepared poll's generic plan, made while the table was small, read the whole table
    on every poll once it had grown (psycopg prepares a query run five times)."""
    feed = ReplyFeed("unused: the test polls on its own connection")
    await add(log_table, 1, "+15550001", "one")
    for _ in range(10):
        await feed._poll(log_table)
    prepared = await (await log_table.execute(
        "SELECT count(*) FROM pg_prepared_statements")).fetchone()
    assert prepared == (0,)
    assert taken(feed, "+15550001") == ["one"]


async def test_a_number_missing_for_longer_than_the_gap_is_given_up(
        log_table: psycopg.AsyncConnection) -> None:
    feed = ReplyFeed("unused: the test polls on its own connection")
    feed.GAP_S = 0.0  # every missing number is given up at the poll that finds it missing
    await add(log_table, 1, "+15550001", "one")
    await add(log_table, 3, "+15550001", "three")
    await feed._poll(log_table)
    assert taken(feed, "+15550001") == ["one", "three"]
    await add(log_table, 2, "+15550001", "two, too late")
    await feed._poll(log_table)
    assert taken(feed, "+15550001") == []  # a hole for good, as a rolled-back insert leaves

    feed.GAP_S = 60.0
    await add(log_table, 5, "+15550001", "five")
    await feed._poll(log_table)
    await add(log_table, 4, "+15550001", "four, within the gap")
    await feed._poll(log_table)
    assert taken(feed, "+15550001") == ["five", "four, within the gap"]


async def test_the_feed_connects_again_when_its_connection_is_lost(
        fresh_database: str, log_table: psycopg.AsyncConnection) -> None:
    """The fault suite's feed outlives what the suite does to the system."""
    feed = ReplyFeed(fresh_database, poll_s=0.01)
    stop = asyncio.Event()
    running = asyncio.create_task(feed.run(stop))
    try:
        await add(log_table, 1, "+15550001", "before")
        box = feed.box(BUSINESS, "+15550001")
        assert (await asyncio.wait_for(box.get(), timeout=10)).body == "before"
        await log_table.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        await add(log_table, 2, "+15550001", "after")
        assert (await asyncio.wait_for(box.get(), timeout=10)).body == "after"
    finally:
        stop.set()
        await running
