"""`receptionist migrate`: bring a database to the newest schema (Alembic, one history)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from libs.db.session import async_url, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url(url))
    return config


async def _migrate(url: str, step: Callable[[Config], None]) -> None:
    """An Alembic command inside the caller's event loop (Alembic itself is synchronous),
    in one transaction."""
    config = alembic_config(url)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            def run(sync_connection: Connection) -> None:
                config.attributes["connection"] = sync_connection
                step(config)

            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _migrate(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    """Back to `revision` (a migration's `downgrade`, as the tests step through it)."""
    await _migrate(url, lambda config: command.downgrade(config, revision))


def upgrade_sync(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade(url, revision))
