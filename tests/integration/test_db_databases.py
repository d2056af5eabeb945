"""`libs.db.databases`: a database of its own is created on the server a URL names (in any
spelling), empty or as a copy of a template, under a name quoted as a name, and dropped
even while someone is still connected to it."""

from __future__ import annotations

import psycopg
import pytest

from libs.db.databases import (
    create_database,
    create_database_async,
    database_of_its_own,
    drop_database,
    drop_database_async,
    dsn_of,
    new_name,
)

pytestmark = pytest.mark.integration


def exists(server_url: str, name: str) -> bool:
    with psycopg.connect(dsn_of(server_url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                           (name,)).fetchone()
    return row == (1,)


def test_the_dsn_names_the_same_server_in_any_spelling() -> None:
    for url in ("postgresql://u:p@db.example:6543/app", "postgres://u:p@db.example:6543/app",
                "postgresql+psycopg://u:p@db.example:6543/app",
                "postgresql+asyncpg://u:p@db.example:6543/app"):
        assert dsn_of(url, "other") == "postgresql://u:p@db.example:6543/other"
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        dsn_of("mysql://u@db.example/app", "other")


def test_a_database_of_its_own_is_empty_and_gone_after_even_with_a_connection_left_open(
        server_database_url: str) -> None:
    with database_of_its_own(server_database_url, "receptionist_test_own") as dsn:
        name = dsn.rsplit("/", 1)[1]
        assert name.startswith("receptionist_test_own_")
        left_open = psycopg.connect(dsn, autocommit=True)
        tables = left_open.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)
    assert not exists(server_database_url, name)
    with pytest.raises(psycopg.OperationalError):  # its connection was ended with it
        left_open.execute("SELECT 1")
    left_open.close()


async def test_a_copy_of_a_template_holds_what_the_template_held(
        server_database_url: str) -> None:
    template, copy = new_name("receptionist_test_template"), new_name("Receptionist_Test_Copy")
    try:
        dsn = await create_database_async(server_database_url, template)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (7)")
        copied = await create_database_async(server_database_url, copy, template=template)
        with psycopg.connect(copied) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]
        assert exists(server_database_url, copy)  # the name as given, capitals kept
    finally:
        await drop_database_async(server_database_url, copy)
        await drop_database_async(server_database_url, template)
    assert not exists(server_database_url, copy)
    assert not exists(server_database_url, template)


def test_dropping_a_database_that_is_not_there_does_nothing(server_database_url: str) -> None:
    name = new_name("receptionist_test_never")
    drop_database(server_database_url, name)
    create_database(server_database_url, name)
    drop_database(server_database_url, name)
    drop_database(server_database_url, name)
    assert not exists(server_database_url, name)
