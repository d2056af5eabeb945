"""The transport interface shared by RabbitMQ and the in-memory twin.

Both speak in raw bodies and headers; validation, inbox, retries and dead-lettering policy
live once in `libs.bus.consumer`, so the two transports cannot drift apart in behaviour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

ATTEMPT_HEADER = "x-attempt"
DEAD_REASON_HEADER = "x-dead-reason"
ERROR_HEADER = "x-error"
ORIGINAL_KEY_HEADER = "x-original-routing-key"


class PublishError(Exception):
    """The broker did not take responsibility for a message (nack, unroutable, no connection).
    Callers must not report success: ingress answers 503, the outbox keeps the row."""


class Delivery(Protocol):
    @property
    def body(self) -> bytes: ...

    @property
    def routing_key(self) -> str: ...

    @property
    def headers(self) -> dict[str, Any]: ...

    @property
    def redelivered(self) -> bool: ...

    @property
    def attempt(self) -> int:
        """How many times this message was already retried (0 on first delivery)."""
        ...

    async def ack(self) -> None: ...

    async def retry(self, tier: int, reason: str) -> None:
        """Hand the message to retry tier `tier` (0-based; each tier waits longer), then ack."""
        ...

    async def dead(self, reason: str, error: str) -> None:
        """Move the message to `<queue>.dead` with the reason in its headers, then ack."""
        ...

    async def requeue(self) -> None:
        """Give the message back unhandled (shutdown): it is redelivered later."""
        ...


DeliveryCallback = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Topology:
    """Names derived from one prefix, so test runs and deployments never share queues."""

    prefix: str
    retry_delays_ms: tuple[int, ...]
    delivery_limit: int = 10

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    def queue(self, consumer: str) -> str:
        return f"{self.prefix}.{consumer}"

    def retry_queue(self, consumer: str, tier: int) -> str:
        return f"{self.prefix}.{consumer}.retry.{tier}"

    def dead_queue(self, consumer: str) -> str:
        return f"{self.prefix}.{consumer}.dead"


class Transport(Protocol):
    topology: Topology

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def declare(self) -> None:
        """Declare the exchange and every consumer's queues (idempotent)."""
        ...

    async def publish(self, body: bytes, routing_key: str, *, message_id: str) -> None:
        """Publish to the topic exchange; returns only once the broker confirmed it."""
        ...

    async def consume(self, consumer: str, callback: DeliveryCallback, *, prefetch: int) -> None:
        ...

    async def stop_consuming(self) -> None: ...

    async def dead_letters(self, consumer: str) -> list[tuple[bytes, dict[str, Any]]]:
        """Drain and return what sits in `<consumer>.dead` (operators and tests)."""
        ...
