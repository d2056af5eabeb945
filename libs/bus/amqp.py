"""RabbitMQ transport (aio-pika): topic exchange, quorum queues, TTL retry tiers, dead queues.

Per consumer `c` it declares
- `c`: quorum queue bound to the types `c` consumes; `x-delivery-limit` caps redeliveries of
  a message that keeps killing its consumer, after which RabbitMQ moves it to `c.dead`;
- `c.retry.N`: one durable classic queue per retry tier whose TTL is that tier's delay; an
  expired message dead-letters back into `c` (through the default exchange, so only `c`
  sees it again);
- `c.dead`: where messages end with `x-dead-reason` and `x-error` headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from libs.bus.transport import (
    ORIGINAL_KEY_HEADER,
    DeadLetter,
    DeliveryCallback,
    MovableDelivery,
    PublishError,
    Topology,
)
from libs.contracts.registry import is_command

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 5.0


class AmqpDelivery(MovableDelivery):
    def __init__(self, transport: AmqpTransport, consumer: str, message: AbstractIncomingMessage):
        self._transport = transport
        self._consumer = consumer
        self._message = message
        self.body = message.body
        self.routing_key = str(message.headers.get(ORIGINAL_KEY_HEADER) or message.routing_key)
        self.headers: dict[str, Any] = dict(message.headers or {})
        self.redelivered = bool(message.redelivered)

    async def ack(self) -> None:
        await self._message.ack()

    async def _to_retry(self, tier: int, headers: dict[str, Any]) -> None:
        await self._move(self._transport.topology.retry_queue(self._consumer, tier), headers)

    async def _to_dead(self, headers: dict[str, Any]) -> None:
        await self._move(self._transport.topology.dead_queue(self._consumer), headers)

    async def _move(self, queue: str, headers: dict[str, Any]) -> None:
        await self._transport.publish_direct(queue, self.body, headers, self._message.message_id)
        await self._message.ack()

    async def requeue(self) -> None:
        await self._message.reject(requeue=True)


@dataclass(eq=False)
class _Subscription:
    """One `consume()`: its queue and tag, and the handler tasks running for it (a message
    is acked on its channel, so the channel outlives them)."""

    queue: AbstractQueue
    tag: str = ""
    handling: set[asyncio.Task[Any]] = field(default_factory=set)
    stopping: bool = False


class AmqpTransport:
    def __init__(self, url: str, topology: Topology) -> None:
        self.url = url
        self.topology = topology
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: list[_Subscription] = []

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.url, client_properties={
            "connection_name": f"{self.topology.prefix}"})
        self._publish_channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._publish_channel.declare_exchange(
            self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)

    async def close(self) -> None:
        await self.stop_consuming()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await connection.close()

    def is_ready(self) -> bool:
        """The connection is up (not closed, not in a robust reconnect) and the publishing
        channel open."""
        connection = self._connection
        if connection is None or connection.is_closed:
            return False
        underlay = connection.transport
        if underlay is None or underlay.connection.is_closed:
            return False
        return self._publish_channel is not None and not self._publish_channel.is_closed

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise PublishError("not connected to RabbitMQ")
        return self._connection

    async def declare(self) -> None:
        channel = await self.connection.channel()
        try:
            exchange = await channel.declare_exchange(
                self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            for consumer, types in sorted(self.topology.bindings.items()):
                await self._declare_consumer(channel, exchange, consumer, sorted(types))
        finally:
            await channel.close()

    async def _declare_consumer(self, channel: AbstractChannel, exchange: AbstractExchange,
                                consumer: str, types: list[str]) -> None:
        t = self.topology
        dead = t.dead_queue(consumer)
        await channel.declare_queue(dead, durable=True, arguments={"x-queue-type": "quorum"})
        work_args: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-delivery-limit": t.delivery_limit,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dead,
        }
        queue = await channel.declare_queue(t.queue(consumer), durable=True, arguments=work_args)
        for event_type in types:
            await queue.bind(exchange, routing_key=event_type)
        for event_type in sorted(t.retired.get(consumer, ())):
            await queue.unbind(exchange, routing_key=event_type)  # none there: no error
        for tier, delay_ms in enumerate(t.retry_delays_ms):
            # A retry queue only parks messages for its TTL: a durable classic queue does
            # that at a fraction of a quorum queue's cost.
            await channel.declare_queue(t.retry_queue(consumer, tier), durable=True, arguments={
                "x-queue-type": "classic",
                "x-message-ttl": delay_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": t.queue(consumer),
            })

    async def delete_topology(self) -> None:
        """Remove every queue and the exchange of this prefix (test and scenario runs)."""
        channel = await self.connection.channel()
        try:
            for consumer in self.topology.bindings:
                for name in self.topology.queues_of(consumer):
                    await channel.queue_delete(name)
            await channel.exchange_delete(self.topology.exchange)
        finally:
            await channel.close()

    async def publish(self, body: bytes, routing_key: str, *, message_id: str,
                      mandatory: bool | None = None) -> None:
        if self._exchange is None:
            raise PublishError("not connected to RabbitMQ")
        message = aio_pika.Message(body, message_id=message_id, content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT, type=routing_key)
        await self._confirmed(self._exchange, message, routing_key,
                              mandatory=is_command(routing_key) if mandatory is None
                              else mandatory)

    async def publish_direct(self, queue: str, body: bytes, headers: dict[str, Any],
                             message_id: str | None) -> None:
        """Publish straight into one queue through the default exchange (retries, dead)."""
        if self._publish_channel is None:
            raise PublishError("not connected to RabbitMQ")
        message = aio_pika.Message(body, headers=headers, message_id=message_id,
                                   content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await self._confirmed(self._publish_channel.default_exchange, message, queue,
                              mandatory=True)

    async def _confirmed(self, exchange: AbstractExchange, message: aio_pika.Message,
                         routing_key: str, *, mandatory: bool) -> None:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await exchange.publish(message, routing_key=routing_key, mandatory=mandatory)
        except Exception as exc:  # any failure means the broker did not take it
            raise PublishError(f"publish of {routing_key} not confirmed: {exc!r}") from exc

    async def consume(self, consumer: str, callback: DeliveryCallback, *, prefetch: int) -> None:
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(self.topology.queue(consumer), ensure=True)
        sub = _Subscription(queue)

        async def on_message(message: AbstractIncomingMessage) -> None:
            if sub.stopping:  # delivered while cancelling: left unacked, so redelivered
                return
            task = asyncio.current_task()
            assert task is not None
            sub.handling.add(task)
            try:
                await callback(AmqpDelivery(self, consumer, message))
            finally:
                sub.handling.discard(task)

        sub.tag = await queue.consume(on_message, no_ack=False)
        self._consumers.append(sub)

    async def stop_consuming(self, grace_s: float = 0.0) -> None:
        """Cancel the consumers (the broker sends no more), wait up to `grace_s` for the
        handlers running, cancel those still running (their messages stay unacked), then
        close the channels: RabbitMQ redelivers whatever was not acked."""
        subs, self._consumers = self._consumers, []
        for sub in subs:
            sub.stopping = True
        for sub in subs:
            await self._cancel(sub)
        running = {task for sub in subs for task in sub.handling}
        if running:
            _, unfinished = await asyncio.wait(running, timeout=grace_s)
            if unfinished:
                log.warning("%d message(s) still being handled after %.1fs; abandoned "
                            "unacked, to be redelivered", len(unfinished), grace_s)
                for task in unfinished:
                    task.cancel()
                await asyncio.wait(unfinished, timeout=CLOSE_TIMEOUT_S)
        for sub in subs:
            await self._close_channel(sub)

    @staticmethod
    async def _cancel(sub: _Subscription) -> None:
        if sub.queue.channel.is_closed:
            return  # gone with the connection: nothing to cancel
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await sub.queue.cancel(sub.tag)
        except Exception:  # the channel may be going with the connection
            log.debug("consumer %s already cancelled", sub.tag)

    @staticmethod
    async def _close_channel(sub: _Subscription) -> None:
        if sub.queue.channel.is_closed:
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await sub.queue.channel.close()
        except Exception:
            log.debug("channel of consumer %s already closed", sub.tag)

    async def dead_letters(self, consumer: str) -> list[tuple[bytes, dict[str, Any]]]:
        channel = await self.connection.channel()
        try:
            queue = await channel.get_queue(self.topology.dead_queue(consumer), ensure=True)
            drained: list[tuple[bytes, dict[str, Any]]] = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                drained.append((message.body, dict(message.headers or {})))
            return drained
        finally:
            await channel.close()

    async def peek_dead(self, consumer: str) -> list[DeadLetter]:
        # Taken unacked, then given back when the channel closes: the queue is unchanged.
        channel = await self.connection.channel()
        try:
            queue = await channel.get_queue(self.topology.dead_queue(consumer), ensure=True)
            seen = []
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                seen.append(_dead_letter(message))
            return seen
        finally:
            await channel.close()

    async def replay_dead(self, consumer: str, message_ids: frozenset[str] | None = None
                          ) -> int:
        channel = await self.connection.channel()
        moved = 0
        try:
            queue = await channel.get_queue(self.topology.dead_queue(consumer), ensure=True)
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                letter = _dead_letter(message)
                if message_ids is not None and letter.message_id not in message_ids:
                    continue  # stays unacked, so back in the dead queue at close
                await self.publish_direct(self.topology.queue(consumer), letter.body,
                                          letter.replay_headers(), letter.message_id)
                await message.ack()
                moved += 1
            return moved
        finally:
            await channel.close()


def _dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    """A dead message's own type: our header when the consumer moved it, else the AMQP
    `type` property every publish sets (RabbitMQ's delivery-limit move renames the key)."""
    headers = dict(message.headers or {})
    key = headers.get(ORIGINAL_KEY_HEADER) or message.type or message.routing_key or ""
    return DeadLetter(message.body, str(key), message.message_id, headers)


async def queue_state(connection: AbstractConnection, queue: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue, read with a passive declare on a channel of
    its own; (0, 0) while it does not exist (the refused declare closes only that channel)."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
    except aio_pika.exceptions.ChannelClosed:
        return 0, 0
    finally:
        if not channel.is_closed:
            await channel.close()
    result: Any = declared.declaration_result
    return int(result.message_count or 0), int(result.consumer_count or 0)
