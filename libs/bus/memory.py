"""The in-memory twin of the RabbitMQ transport, for the one-process demo and the scenarios.

Same bindings, same headers, same retry tiers and dead queues, the same rule for a message
nobody receives (a command is refused, an event dropped); only the broker is a dict of
asyncio queues. `wait_idle()` lets the scenario runner check once nothing is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from libs.bus.transport import (
    DeadLetter,
    DeliveryCallback,
    MovableDelivery,
    PublishError,
    Topology,
)
from libs.contracts.registry import is_command

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 5.0  # for a cancelled handler to unwind and hand its message back


@dataclass
class _Message:
    body: bytes
    routing_key: str
    headers: dict[str, Any]
    message_id: str
    redelivered: bool = False


class MemoryDelivery(MovableDelivery):
    def __init__(self, transport: MemoryTransport, consumer: str, message: _Message) -> None:
        self.transport = transport
        self.consumer = consumer
        self.message = message
        self.body = message.body
        self.routing_key = message.routing_key
        self.headers = message.headers
        self.settled = False

    @property
    def redelivered(self) -> bool:
        return self.message.redelivered

    async def ack(self) -> None:
        self.settled = True

    async def _to_retry(self, tier: int, headers: dict[str, Any]) -> None:
        delay_s = self.transport.topology.retry_delays_ms[tier] / 1000
        retried = _Message(self.body, self.routing_key, headers, self.message.message_id)
        self.transport._schedule(self.consumer, retried, delay_s)
        self.settled = True

    async def _to_dead(self, headers: dict[str, Any]) -> None:
        self.transport._dead[self.consumer].append(
            DeadLetter(self.body, self.routing_key, self.message.message_id, headers))
        self.settled = True

    async def requeue(self) -> None:
        self.give_back()

    def give_back(self) -> None:
        self.message.redelivered = True
        self.transport._queues[self.consumer].put_nowait(self.message)
        self.settled = True


class MemoryTransport:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._queues: dict[str, asyncio.Queue[_Message]] = {}
        self._dead: dict[str, list[DeadLetter]] = defaultdict(list)
        self._workers: list[asyncio.Task[None]] = []
        self._handling: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._pending_retries: set[asyncio.Task[None]] = set()
        self._connected = False
        self._consumed: set[str] = set()
        self.published: list[tuple[str, bytes]] = []

    async def connect(self) -> None:
        self._connected = True

    async def close(self) -> None:
        await self.stop_consuming()
        for task in self._pending_retries:
            task.cancel()
        self._connected = False

    def is_ready(self) -> bool:
        return self._connected

    async def declare(self) -> None:
        for consumer in self.topology.bindings:
            self._queues.setdefault(consumer, asyncio.Queue())

    async def publish(self, body: bytes, routing_key: str, *, message_id: str,
                      mandatory: bool | None = None) -> None:
        if not self._connected:
            raise PublishError("in-memory bus is not connected")
        targets = [c for c in self.topology.consumers_of(routing_key) if c in self._queues]
        if not targets and (is_command(routing_key) if mandatory is None else mandatory):
            raise PublishError(f"publish of {routing_key} not confirmed: unroutable")
        self.published.append((routing_key, body))
        for consumer in targets:  # an event nobody follows is dropped, as by RabbitMQ
            self._queues[consumer].put_nowait(_Message(body, routing_key, {}, message_id))

    def _schedule(self, consumer: str, message: _Message, delay_s: float) -> None:
        async def later() -> None:
            await asyncio.sleep(delay_s)
            self._queues[consumer].put_nowait(message)

        task = asyncio.get_running_loop().create_task(later())
        self._pending_retries.add(task)
        task.add_done_callback(self._pending_retries.discard)

    async def consume(self, consumer: str, callback: DeliveryCallback, *, prefetch: int) -> None:
        queue = self._queues.setdefault(consumer, asyncio.Queue())
        self._consumed.add(consumer)
        slots = asyncio.Semaphore(prefetch)

        async def handle(delivery: MemoryDelivery) -> None:
            await callback(delivery)

        def finished(delivery: MemoryDelivery, task: asyncio.Task[None]) -> None:
            """A done callback, so it runs even for a task cancelled before it started."""
            self._handling.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("%s: delivery callback failed", consumer, exc_info=task.exception())
            if not delivery.settled:  # like a channel closing with the message unacked
                delivery.give_back()
            self._in_flight -= 1
            slots.release()

        async def work() -> None:
            while True:
                # A slot first, then a message: a worker cancelled while waiting holds none.
                await slots.acquire()
                try:
                    message = await queue.get()
                except BaseException:
                    slots.release()
                    raise
                self._in_flight += 1
                delivery = MemoryDelivery(self, consumer, message)
                task = asyncio.get_running_loop().create_task(handle(delivery))
                self._handling.add(task)
                task.add_done_callback(functools.partial(finished, delivery))

        self._workers.append(asyncio.get_running_loop().create_task(work()))

    async def stop_consuming(self, grace_s: float = 0.0) -> None:
        """As RabbitMQ's: take nothing more, let the handlers running finish for up to
        `grace_s`, cancel the rest; their messages go back to the queue unsettled."""
        self._consumed.clear()
        for worker in self._workers:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
        running = set(self._handling)
        if running:
            _, unfinished = await asyncio.wait(running, timeout=grace_s)
            if unfinished:
                log.warning("%d message(s) still being handled after %.1fs; abandoned "
                            "unsettled, to be redelivered", len(unfinished), grace_s)
                for task in unfinished:
                    task.cancel()
                await asyncio.wait(unfinished, timeout=CANCEL_WAIT_S)

    def busy(self) -> bool:
        """Work is queued or running for a consumer that is running here. Messages for a
        service not composed in this process wait in its queue, as in a durable queue."""
        return (self._in_flight > 0 or bool(self._pending_retries)
                or any(not self._queues[c].empty() for c in self._consumed))

    async def wait_idle(self, settle_rounds: int = 3) -> None:
        """Return once no message is queued, in flight or waiting for a retry."""
        quiet = 0
        while quiet < settle_rounds:
            await asyncio.sleep(0)
            quiet = 0 if self.busy() else quiet + 1

    async def dead_letters(self, consumer: str) -> list[tuple[bytes, dict[str, Any]]]:
        drained, self._dead[consumer] = self._dead[consumer], []
        return [(letter.body, dict(letter.headers)) for letter in drained]

    async def peek_dead(self, consumer: str) -> list[DeadLetter]:
        return list(self._dead[consumer])

    async def replay_dead(self, consumer: str, message_ids: frozenset[str] | None = None
                          ) -> int:
        kept, moved = [], 0
        for letter in self._dead[consumer]:
            if message_ids is not None and letter.message_id not in message_ids:
                kept.append(letter)
                continue
            self._queues.setdefault(consumer, asyncio.Queue()).put_nowait(_Message(
                letter.body, letter.routing_key, letter.replay_headers(),
                letter.message_id or ""))
            moved += 1
        self._dead[consumer] = kept
        return moved
