"""The bench's janitor (`benchmarks/rig.py`, `Janitor`) does autovacuum's work for a server
that runs without it: a sweep vacuums and analyzes the bench's database, when a window
starts and `every_s` has passed since the last."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from benchmarks.rig import Janitor
from tests.helpers import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def rows(fresh_database: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """A table with rows that no one has vacuumed or analyzed yet."""
    async with await psycopg.AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        await conn.execute("CREATE TABLE queue (id bigint PRIMARY KEY, done boolean)")
        await conn.execute("INSERT INTO queue SELECT g, false FROM generate_series(1, 500) g")
        await conn.execute("UPDATE queue SET done = true")  # 500 dead rows
        yield conn


async def swept(conn: psycopg.AsyncConnection) -> tuple[int, int, bool, bool]:
    """(vacuums, analyzes, dead rows left, statistics kept) of the table."""
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    row = await (await conn.execute(
        "SELECT vacuum_count, analyze_count, n_dead_tup > 0, "
        "EXISTS (SELECT FROM pg_stats WHERE tablename = 'queue') "
        "FROM pg_stat_user_tables WHERE relname = 'queue'")).fetchone()
    assert row is not None
    return row


async def test_a_sweep_vacuums_and_analyzes_the_database(
        fresh_database: str, rows: psycopg.AsyncConnection) -> None:
    janitor = Janitor(fresh_database)
    vacuums, analyzes, _, kept = await swept(rows)
    assert (vacuums, analyzes, kept) == (0, 0, False)
    await janitor.sweep()

    async def counted() -> bool:  # the statistics collector reports a moment later
        return (await swept(rows))[:2] == (1, 1)

    await eventually(counted, what="the sweep counted")
    assert await swept(rows) == (1, 1, False, True)
    assert janitor.runs == 1


async def test_it_sweeps_only_once_the_interval_has_passed_since_the_last(
        fresh_database: str, rows: psycopg.AsyncConnection) -> None:
    patient = Janitor(fresh_database, every_s=3600)
    assert not await patient.sweep_if_due()  # an hour from its start
    assert patient.runs == 0

    eager = Janitor(fresh_database, every_s=0)
    assert await eager.sweep_if_due()
    assert await eager.sweep_if_due()
    assert eager.runs == 2
