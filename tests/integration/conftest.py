"""Shared fixtures: a freshly migrated PostgreSQL database and an isolated RabbitMQ topology."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport
from libs.bus.memory import MemoryTransport
from libs.bus.transport import Topology
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.db.databases import database_of_its_own
from libs.db.session import make_engine, make_session_factory
from libs.runtime.definition import bindings_of
from receptionist import migrate
from receptionist.bootstrap import DEFINITIONS, full_topology
from receptionist.schema import metadata
from tests.helpers import FIXTURE_BUSINESSES
from tests.process_kit import Harness
from tests.servers import postgres_url, rabbitmq_url

TEST_RETRY_DELAYS_MS = (200, 400)


@pytest.fixture(scope="session")
def server_database_url() -> Iterator[str]:
    with postgres_url() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(server_database_url: str) -> Iterator[str]:
    """A database of its own for this test session, migrated to head, dropped afterwards."""
    with database_of_its_own(server_database_url, "receptionist_test") as url:
        migrate.upgrade_sync(url)
        yield url


@pytest.fixture
def fresh_database(server_database_url: str) -> Iterator[str]:
    """An empty database of its own (a migration stepped through by hand, a table of a test's
    own), dropped afterwards."""
    with database_of_its_own(server_database_url, "receptionist_test") as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session_factory(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Every test starts from empty tables."""
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield make_session_factory(engine)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with rabbitmq_url() as url:
        yield url


@pytest.fixture
async def topology(amqp_url: str) -> AsyncIterator[Topology]:
    """A prefix of its own per test, and every queue made under it deleted afterwards: every
    built service's, since a service process the test switches on (calendar with a key)
    declares queues the test process's own settings leave out."""
    topo = full_topology(f"t{uuid.uuid4().hex[:10]}", TEST_RETRY_DELAYS_MS, delivery_limit=3)
    yield topo
    cleaner = AmqpTransport(amqp_url, replace(topo, bindings=bindings_of(DEFINITIONS)))
    await cleaner.connect()
    await cleaner.delete_topology()
    await cleaner.close()


@pytest.fixture
async def amqp_transport(amqp_url: str, topology: Topology) -> AsyncIterator[AmqpTransport]:
    transport = AmqpTransport(amqp_url, topology)
    await transport.connect()
    await transport.declare()
    yield transport
    await transport.close()


@pytest.fixture
async def harness(tmp_path: Path, database_url: str, amqp_url: str, topology: Topology,
                  session_factory: async_sessionmaker[AsyncSession]) -> Harness:
    """The salon imported, and a way to start any service as its own OS process."""
    profile = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    async with session_factory() as s, s.begin():
        await import_profile(s, profile)
    return Harness(tmp_path, database_url, amqp_url, topology, session_factory, profile)


@pytest.fixture
async def bus() -> AsyncIterator[MemoryTransport]:
    """The in-memory bus with every service's queues, for apps tested without RabbitMQ."""
    transport = MemoryTransport(full_topology("t", (10,)))
    await transport.connect()
    await transport.declare()
    yield transport
