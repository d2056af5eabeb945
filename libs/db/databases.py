"""Databases of their own on a PostgreSQL server, for one run of something (a scenario, a
test, the bench, the fault suite): created from the server's maintenance database, dropped
with whoever is still connected to them. One place for it: the scenario runner, the tests
and the benches each made and dropped their own."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from libs.db.session import async_url

MAINTENANCE_DATABASE = "postgres"


def dsn_of(server_url: str, database: str) -> str:
    """`database` on `server_url`'s server (any PostgreSQL URL spelling), as a DSN psycopg
    and `libs.db.session` both take."""
    url = make_url(async_url(server_url)).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def new_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _create(name: str, template: str | None) -> sql.Composed:
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is None:
        return create
    return create + sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))


def _drop(name: str) -> sql.Composed:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Create `name` (empty, or a copy of `template`); its DSN."""
    with psycopg.connect(dsn_of(server_url, MAINTENANCE_DATABASE), autocommit=True) as conn:
        conn.execute(_create(name, template))
    return dsn_of(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop `name` if it is there, whoever is connected to it."""
    with psycopg.connect(dsn_of(server_url, MAINTENANCE_DATABASE), autocommit=True) as conn:
        conn.execute(_drop(name))


async def create_database_async(server_url: str, name: str, *,
                                template: str | None = None) -> str:
    """`create_database` from an event loop."""
    async with await psycopg.AsyncConnection.connect(
            dsn_of(server_url, MAINTENANCE_DATABASE), autocommit=True) as conn:
        await conn.execute(_create(name, template))
    return dsn_of(server_url, name)


async def drop_database_async(server_url: str, name: str) -> None:
    """`drop_database` from an event loop."""
    async with await psycopg.AsyncConnection.connect(
            dsn_of(server_url, MAINTENANCE_DATABASE), autocommit=True) as conn:
        await conn.execute(_drop(name))


@contextlib.contextmanager
def database_of_its_own(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database named after `prefix` (its DSN), dropped when the block ends."""
    name = new_name(prefix)
    dsn = create_database(server_url, name)
    try:
        yield dsn
    finally:
        drop_database(server_url, name)

