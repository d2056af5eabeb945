"""Benchmark: what one database statement, one transaction and one message cost a service in
CPU, through the libraries the services use and through the drivers beneath them.

A turn's CPU is mostly made of these few operations, repeated (docs/scaling.md, "What the
primitives cost"): about fourteen statements in seven or eight sessions, five or six
messages consumed and as many published. Each is measured here alone, in this process, on
the services' event loop (`libs/runtime/event_loop.py`; `--loop asyncio` for asyncio's own),
against the local PostgreSQL and RabbitMQ:

- **statement**: one cached `SELECT` on an open session (`libs.db.session`), the same as a
  `libs.db.direct.Direct` statement on that session, and through psycopg alone;
- **session, one statement**: a session opened, one statement outside a transaction
  (`autocommit_sessions`, as `HandlerContext.read()` runs), closed; and a `Direct` statement
  on a pooled connection without a session (`direct_autocommit`, `HandlerContext.statement()`);
- **transaction**: a session, `BEGIN`, one statement, `COMMIT` (`HandlerContext.write()`'s
  shape), the same with a `Direct` statement on a pooled connection (`direct_transaction`,
  `HandlerContext.write_direct()`), and through psycopg alone;
- **message consumed**: delivered and acked through `AmqpTransport.consume` (aio-pika), and
  through aiormq alone;
- **message published**: a persistent publish with its broker confirm, through
  `AmqpTransport.publish`, and through aiormq alone.

Only this process's CPU is counted (`time.process_time`): the server's work is not in the figures.

    .venv/bin/python benchmarks/primitives.py [--n 1000] [--loop uvloop|asyncio]

Prints microseconds of CPU per operation, the best of `--rounds`, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiormq  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import Select, bindparam, literal_column, select  # noqa: E402

from benchmarks.rig import best_cpu_ms_per_unit  # noqa: E402
from libs.bus.amqp import AmqpTransport  # noqa: E402
from libs.bus.transport import Delivery, Topology  # noqa: E402
from libs.db.direct import Direct, direct_autocommit, direct_transaction  # noqa: E402
from libs.db.session import autocommit_sessions, make_engine, make_session_factory  # noqa: E402
from libs.runtime import event_loop  # noqa: E402

LOCAL_DB = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
ONE: Select[Any] = select(literal_column("1").label("one")).where(bindparam("a") == bindparam("a"))
DIRECT_ONE = Direct.of(ONE)
RAW_ONE = "SELECT 1 AS one WHERE %s = %s"
BODY = json.dumps({"type": "reply.requested.v1", "business_id": "salon",
                   "payload": {"channel": "sms", "to": "+15555550101", "text": "x" * 300}}
                  ).encode()  # about the size of a reply's envelope
Step = Callable[[], Awaitable[None]]


async def us_per(step: Step, n: int, rounds: int) -> float:
    """The best round's CPU microseconds per call."""

    async def once(_: int) -> int:
        await step()
        return 1

    return await best_cpu_ms_per_unit(once, n, rounds) * 1000


async def database(url: str, n: int, rounds: int) -> dict[str, float]:
    engine = make_engine(url, pool_size=2)
    sessions = make_session_factory(engine)
    one_statement = autocommit_sessions(sessions)
    raw = await psycopg.AsyncConnection.connect(url, autocommit=True)
    raw_tx = await psycopg.AsyncConnection.connect(url)
    try:
        async with sessions() as open_session:

            async def statement() -> None:
                await open_session.scalar(ONE, {"a": 1})

            async def direct_statement() -> None:
                await DIRECT_ONE.scalar(open_session, {"a": 1})

            async def raw_statement() -> None:
                await (await raw.execute(RAW_ONE, (1, 1))).fetchone()

            async def session_one_statement() -> None:
                async with one_statement() as session:
                    await session.scalar(ONE, {"a": 1})

            async def pooled_one_statement() -> None:
                async with direct_autocommit(engine) as db:
                    await DIRECT_ONE.scalar(db, {"a": 1})

            async def transaction() -> None:
                async with sessions() as session, session.begin():
                    await session.scalar(ONE, {"a": 1})

            async def pooled_transaction() -> None:
                async with direct_transaction(engine) as db:
                    await DIRECT_ONE.scalar(db, {"a": 1})

            async def raw_transaction() -> None:
                async with raw_tx.transaction():
                    await (await raw_tx.execute(RAW_ONE, (1, 1))).fetchone()

            return {
                "statement_us": await us_per(statement, n, rounds),
                "statement_direct_us": await us_per(direct_statement, n, rounds),
                "statement_psycopg_us": await us_per(raw_statement, n, rounds),
                "session_one_statement_us": await us_per(session_one_statement, n, rounds),
                "pooled_one_statement_us": await us_per(pooled_one_statement, n, rounds),
                "transaction_us": await us_per(transaction, n, rounds),
                "transaction_direct_us": await us_per(pooled_transaction, n, rounds),
                "transaction_psycopg_us": await us_per(raw_transaction, n, rounds),
            }
    finally:
        await raw.close()
        await raw_tx.close()
        await engine.dispose()


async def messages(url: str, n: int, rounds: int) -> dict[str, float]:
    prefix = f"primitives{uuid.uuid4().hex[:8]}"
    topology = Topology(prefix=prefix, retry_delays_ms=(1000,),
                        bindings={"sink": frozenset({"primitives.sink.v1"})})
    transport = AmqpTransport(url, topology)
    await transport.connect()
    raw = await aiormq.connect(url)
    try:
        await transport.declare()
        queue = topology.queue("sink")
        raw_channel = await raw.channel()
        await raw_channel.confirm_delivery()

        sent = 0

        async def publish() -> None:
            nonlocal sent
            await transport.publish(BODY, "primitives.sink.v1", message_id=uuid.uuid4().hex)
            sent += 1

        async def raw_publish() -> None:
            nonlocal sent
            sent += 1
            await raw_channel.basic_publish(
                BODY, exchange=topology.exchange, routing_key="primitives.sink.v1",
                properties=aiormq.spec.Basic.Properties(
                    message_id=uuid.uuid4().hex, content_type="application/json",
                    delivery_mode=2, message_type="primitives.sink.v1"))

        published = {"publish_us": await us_per(publish, n, rounds),
                     "publish_aiormq_us": await us_per(raw_publish, n, rounds)}
        consumed = {"consume_us": await _consume_all(transport, sent // 2),
                    "consume_aiormq_us": await _consume_all_raw(raw, queue, sent // 2)}
        return {**published, **consumed}
    finally:
        await transport.delete_topology()
        await raw.close()
        await transport.close()


async def _consume_all(transport: AmqpTransport, count: int) -> float:
    """CPU per message taken off the queue and acked by `AmqpTransport.consume`."""
    done, seen = asyncio.Event(), 0

    async def on_delivery(delivery: Delivery) -> None:
        nonlocal seen
        if seen == count:
            return  # left unacked: back in the queue for the next consumer
        seen += 1  # before the ack: up to `prefetch` deliveries are handled at once
        if seen == count:
            done.set()
        await delivery.ack()

    started = time.process_time()
    await transport.consume("sink", on_delivery, prefetch=6)
    await done.wait()
    used = (time.process_time() - started) * 1e6 / count
    await transport.stop_consuming()
    return used


async def _consume_all_raw(connection: aiormq.abc.AbstractConnection, queue: str,
                           count: int) -> float:
    channel = await connection.channel()
    await channel.basic_qos(prefetch_count=6)
    done, seen = asyncio.Event(), 0

    async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
        nonlocal seen
        assert message.delivery_tag is not None
        await channel.basic_ack(message.delivery_tag)
        seen += 1
        if seen == count:
            done.set()

    started = time.process_time()
    await channel.basic_consume(queue, on_message, no_ack=False)
    await done.wait()
    used = (time.process_time() - started) * 1e6 / count
    await channel.close()
    return used


async def main(n: int, rounds: int) -> dict[str, float]:
    figures = {**await database(os.environ.get("DATABASE_URL") or LOCAL_DB, n, rounds),
               **await messages(os.environ.get("AMQP_URL") or LOCAL_AMQP, n, rounds)}
    for name, value in figures.items():
        print(f"{name.removesuffix('_us'):28s} {value:7.1f} us CPU")
    return {name: round(value, 1) for name, value in figures.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    run: Callable[[Any], dict[str, float]] = (
        event_loop.run if args.loop == "uvloop" else asyncio.run)
    print(json.dumps(run(main(args.n, args.rounds))))
