"""The turns ceiling: the plumbing of a turn with no business logic in it.

A webhook enters a bare HTTP endpoint (`benchmarks/bare_ingress.py`: the signature check
and one confirmed publish), then crosses three hops, each its own process, as a turn
crosses nlu, fsm and notifier. Each hop consumes from a quorum queue and does only what
exactly-once delivery needs:

- hop 1 and hop 2: one transaction with the inbox row (`inbox`, `ON CONFLICT DO NOTHING`)
  and the outbox row (`outbox`) of the message it passes on; ack; then the outbox row is
  published with a broker confirm and marked sent, in one of two ways (`--relay`):
  - `per-message`: the handler publishes its own row and marks it sent (a publish and a
    commit per message);
  - `batched`: as `libs/bus/outbox.py`'s relay does, the handler hands its committed row to
    the process's relay, which publishes what it was handed with pipelined confirms and
    marks those rows sent in one `UPDATE` every 200 ms (or 100 rows), and looks every
    second for rows older than 5 s that nobody handed it (`FOR UPDATE SKIP LOCKED`);
- hop 3 ("reply"): one transaction with the inbox row and the reply's `message_log` row,
  stamped `sent` at the moment the row is written, as notifier stamps the moment it hands a
  reply to the channel adapter.

The same tables, indexes and durability as the real services (the migrated schema,
quorum queues, persistent messages, synchronous commits), the same pool sizes and the same
number of messages in flight per process (`DB_POOL_SIZE - 2`); raw psycopg and aio-pika,
on the services' event loop (uvloop, `libs/runtime/event_loop.py`).

    python -m benchmarks.ceiling --hop N --relay {per-message,batched} --pool P
    (env: DATABASE_URL, AMQP_URL, CEILING_PREFIX)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from libs.runtime import event_loop

HOPS = 3
BATCH = 100
POLL_S = 1.0
MARK_S = 0.2
LEFTOVER_S = 5
BUSINESS_OF_NUMBER = {"109876543210001": "salon", "109876543210002": "clinic",
                      "109876543210003": "barber"}

log = logging.getLogger("ceiling")


def exchange_of(prefix: str) -> str:
    return f"{prefix}.events"


def queue_of(prefix: str, hop: int) -> str:
    return f"{prefix}.hop{hop}"


def key_of(hop: int) -> str:
    return f"ceiling.hop{hop}"


async def declare(amqp_url: str, prefix: str, *, delete: bool = False) -> None:
    """The ceiling's exchange and one quorum queue per hop (or their removal)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        if delete:
            for hop in range(1, HOPS + 1):
                await channel.queue_delete(queue_of(prefix, hop))
            await channel.exchange_delete(exchange_of(prefix))
            return
        exchange = await channel.declare_exchange(exchange_of(prefix),
                                                  aio_pika.ExchangeType.TOPIC, durable=True)
        for hop in range(1, HOPS + 1):
            queue = await channel.declare_queue(queue_of(prefix, hop), durable=True,
                                                arguments={"x-queue-type": "quorum"})
            await queue.bind(exchange, routing_key=key_of(hop))
    finally:
        await connection.close()


def first_hop_payload(body: bytes) -> dict[str, Any]:
    """What hop 1 reads from the webhook the entry published (a WhatsApp body)."""
    value = json.loads(body)["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    return {"business_id": BUSINESS_OF_NUMBER.get(value["metadata"]["phone_number_id"], "salon"),
            "customer": "+" + str(message["from"]).lstrip("+"),
            "text": message["text"]["body"]}


class Hop:
    def __init__(self, hop: int, relay: str, pool: AsyncConnectionPool,
                 exchange: AbstractExchange) -> None:
        self.hop = hop
        self.relay = relay
        self.pool = pool
        self.exchange = exchange
        self.consumer = f"ceiling-hop{hop}"
        self.wake = asyncio.Event()
        self.handed: list[tuple[uuid.UUID, dict[str, Any]]] = []
        self.unmarked: list[uuid.UUID] = []

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._handle(message)
        except Exception:
            log.exception("hop %d failed; the message is requeued", self.hop)
            await message.reject(requeue=True)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        event_id = uuid.UUID(str(message.message_id))
        data = (first_hop_payload(message.body) if self.hop == 1
                else json.loads(message.body)["payload"])
        out_id = uuid.uuid4()
        row_id: int | None = None
        async with self.pool.connection() as conn, conn.transaction():
            claimed = await (await conn.execute(
                "INSERT INTO inbox (consumer, event_id, type) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                (self.consumer, event_id, key_of(self.hop)))).fetchone()
            if claimed is None:
                await message.ack()
                return
            if self.hop < HOPS:
                envelope = {"event_id": str(out_id), "type": key_of(self.hop + 1),
                            "business_id": data["business_id"],
                            "occurred_at": datetime.now(UTC).isoformat(),
                            "correlation_id": str(event_id), "causation_id": str(event_id),
                            "payload": data}
                found = await (await conn.execute(
                    "INSERT INTO outbox (event_id, type, business_id, envelope) "
                    "VALUES (%s, %s, %s, %s) RETURNING id",
                    (out_id, key_of(self.hop + 1), data["business_id"],
                     Jsonb(envelope)))).fetchone()
                assert found is not None
                row_id = int(found[0])
            else:
                now = datetime.now(UTC)  # the reply reaches "the channel": now
                await conn.execute(
                    'INSERT INTO message_log (id, event_id, business_id, channel, audience, '
                    '"to", body, status, requested_at, updated_at) '
                    "VALUES (%s, %s, %s, 'whatsapp', 'customer', %s, %s, 'sent', %s, %s)",
                    (uuid.uuid4(), event_id, data["business_id"], data["customer"],
                     f"re: {data['text']}", now, now))
        await message.ack()
        if row_id is None:
            return
        if self.relay == "batched":
            self.handed.append((out_id, envelope))
            self.wake.set()
            return
        await self._publish(out_id, key_of(self.hop + 1), envelope)
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = %s",
                               (row_id,))

    async def _publish(self, event_id: uuid.UUID, key: str, envelope: dict[str, Any]) -> None:
        body = json.dumps(envelope, separators=(",", ":")).encode()
        await self.exchange.publish(
            aio_pika.Message(body, message_id=str(event_id), content_type="application/json",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT, type=key),
            routing_key=key, timeout=5.0)

    async def relay_loop(self, stopping: asyncio.Event) -> None:
        """The batched relay: publish what was handed over with pipelined confirms, mark
        it sent in one UPDATE per interval, look for leftovers every second."""
        key = key_of(self.hop + 1)
        loop = asyncio.get_running_loop()
        next_poll = next_mark = loop.time()
        while not stopping.is_set() or self.handed or self.unmarked:
            try:
                batch, self.handed = self.handed[:BATCH], self.handed[BATCH:]
                await asyncio.gather(*(self._publish(event_id, key, envelope)
                                       for event_id, envelope in batch))
                self.unmarked += [event_id for event_id, _ in batch]
                now = loop.time()
                if self.unmarked and (len(self.unmarked) >= BATCH or now >= next_mark
                                      or stopping.is_set()):
                    marking, self.unmarked = self.unmarked, []
                    async with self.pool.connection() as conn:
                        await conn.execute("UPDATE outbox SET published_at = now() "
                                           "WHERE event_id = ANY(%s)", (marking,))
                    next_mark = now + MARK_S
                if now >= next_poll:
                    await self._leftovers(key)
                    next_poll = now + POLL_S
            except Exception:
                log.exception("relay failed; retrying")
            if self.handed:
                continue
            self.wake.clear()
            wait = min(next_poll, next_mark if self.unmarked else next_poll) - loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=max(0.0, wait))

    async def _leftovers(self, key: str) -> int:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(
                "SELECT id, event_id, envelope FROM outbox WHERE published_at IS NULL "
                "AND type = %s AND created_at < now() - make_interval(secs => %s) "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (key, LEFTOVER_S, BATCH))).fetchall()
            if not rows:
                return 0
            await asyncio.gather(*(self._publish(event_id, key, envelope)
                                   for _, event_id, envelope in rows))
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)",
                               ([row_id for row_id, _, _ in rows],))
        return len(rows)


async def run(hop: int, relay: str, pool_size: int) -> None:
    prefix = os.environ["CEILING_PREFIX"]
    pool = AsyncConnectionPool(os.environ["DATABASE_URL"], min_size=pool_size,
                               max_size=pool_size, open=False)
    await pool.open(wait=True)
    connection = await aio_pika.connect(os.environ["AMQP_URL"])
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        publishing = await connection.channel(publisher_confirms=True)
        exchange = await publishing.get_exchange(exchange_of(prefix), ensure=True)
        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=max(1, pool_size - 2))
        worker = Hop(hop, relay, pool, exchange)
        relaying = (asyncio.create_task(worker.relay_loop(stopping))
                    if relay == "batched" and hop < HOPS else None)
        queue = await consuming.get_queue(queue_of(prefix, hop), ensure=True)
        await queue.consume(worker.on_message)
        await stopping.wait()
        if relaying is not None:
            worker.wake.set()
            await relaying
    finally:
        await connection.close()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hop", type=int, required=True, choices=range(1, HOPS + 1))
    parser.add_argument("--relay", choices=("per-message", "batched"), required=True)
    parser.add_argument("--pool", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    event_loop.run(run(args.hop, args.relay, args.pool))  # the services' loop


if __name__ == "__main__":
    main()
