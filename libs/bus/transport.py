"""The transport interface shared by RabbitMQ and the in-memory twin.

Both speak in raw bodies and headers; validation, inbox, retries and dead-lettering policy
live once in `libs.bus.consumer`, so the two transports cannot drift apart in behaviour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from libs.contracts.envelope import Envelope

ATTEMPT_HEADER = "x-attempt"
DEAD_REASON_HEADER = "x-dead-reason"
ERROR_HEADER = "x-error"
ORIGINAL_KEY_HEADER = "x-original-routing-key"


# Headers a message gathers on its way to the dead queue; a replay starts it afresh.
_DEATH_HEADERS = (ATTEMPT_HEADER, DEAD_REASON_HEADER, ERROR_HEADER)


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead queue, as an operator inspects it."""

    body: bytes
    routing_key: str
    message_id: str | None
    headers: Mapping[str, Any]

    @property
    def reason(self) -> str:
        return str(self.headers.get(DEAD_REASON_HEADER) or "delivery-limit")

    @property
    def error(self) -> str:
        return str(self.headers.get(ERROR_HEADER) or "")

    def replay_headers(self) -> dict[str, Any]:
        """The headers it goes back to work with: no attempts, reason or broker death
        record, but still its own message type."""
        kept = {k: v for k, v in self.headers.items()
                if k not in _DEATH_HEADERS and not k.startswith(
                    ("x-death", "x-first-death", "x-last-death", "x-delivery-count"))}
        return {**kept, ORIGINAL_KEY_HEADER: self.routing_key}


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


class MovableDelivery:
    """What both transports' deliveries share: the attempt count and the headers a message
    carries into a retry tier or the dead queue. Each transport moves it its own way."""

    body: bytes
    routing_key: str
    headers: dict[str, Any]

    @property
    def attempt(self) -> int:
        return int(self.headers.get(ATTEMPT_HEADER, 0) or 0)

    async def retry(self, tier: int, reason: str) -> None:
        await self._to_retry(tier, {**self.headers, ATTEMPT_HEADER: self.attempt + 1,
                                    ERROR_HEADER: reason[:1000],
                                    ORIGINAL_KEY_HEADER: self.routing_key})

    async def dead(self, reason: str, error: str) -> None:
        await self._to_dead({**self.headers, DEAD_REASON_HEADER: reason,
                             ERROR_HEADER: error[:4000], ORIGINAL_KEY_HEADER: self.routing_key})

    async def _to_retry(self, tier: int, headers: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _to_dead(self, headers: dict[str, Any]) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Topology:
    """Names derived from one prefix, so test runs and deployments never share queues, and
    the bindings: which message types each consumer's queue receives. Bindings come from the
    services' handler maps (`libs.runtime.definition.bindings_of`), never written by hand."""

    prefix: str
    retry_delays_ms: tuple[int, ...]
    delivery_limit: int = 10
    bindings: Mapping[str, frozenset[str]] = field(default_factory=dict)
    retired: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Types a consumer's queue is unbound from when declared: it handled them once
    (`libs.runtime.definition.retired_of`)."""

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    def queue(self, consumer: str) -> str:
        return f"{self.prefix}.{consumer}"

    def retry_queue(self, consumer: str, tier: int) -> str:
        return f"{self.prefix}.{consumer}.retry.{tier}"

    def dead_queue(self, consumer: str) -> str:
        return f"{self.prefix}.{consumer}.dead"

    def queues_of(self, consumer: str) -> list[str]:
        """Every queue one consumer owns: its work queue, retry tiers and dead queue."""
        return [self.queue(consumer), *(self.retry_queue(consumer, tier)
                                        for tier in range(len(self.retry_delays_ms))),
                self.dead_queue(consumer)]

    def consumers_of(self, message_type: str) -> list[str]:
        return sorted(c for c, types in self.bindings.items() if message_type in types)

    def with_bindings(self, bindings: Mapping[str, frozenset[str]]) -> Topology:
        return replace(self, bindings=dict(bindings))


class Transport(Protocol):
    topology: Topology

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def declare(self) -> None:
        """Declare the exchange and the queues of every consumer in the bindings
        (idempotent)."""
        ...

    async def publish(self, body: bytes, routing_key: str, *, message_id: str,
                      mandatory: bool | None = None) -> None:
        """Publish to the topic exchange; returns only once the broker confirmed it.

        A mandatory message nobody would receive raises PublishError; by default that is
        every command. An event nobody follows is confirmed and dropped, as RabbitMQ does
        with a non-mandatory publish, unless the publisher says it must arrive (ingress:
        a customer's message is never dropped; the provider is told to retry instead)."""
        ...

    async def consume(self, consumer: str, callback: DeliveryCallback, *, prefetch: int) -> None:
        ...

    async def stop_consuming(self, grace_s: float = 0.0) -> None:
        """Stop taking messages, let those being handled finish for up to `grace_s`, then
        abandon the rest unsettled: the broker gives them to another consumer. Nothing
        unfinished is acked."""
        ...

    def is_ready(self) -> bool:
        """Connected: publishing and consuming can work now (readiness probes)."""
        ...

    async def dead_letters(self, consumer: str) -> list[tuple[bytes, dict[str, Any]]]:
        """Drain and return what sits in `<consumer>.dead` (tests and scenario runs)."""
        ...

    async def peek_dead(self, consumer: str) -> list[DeadLetter]:
        """What sits in `<consumer>.dead`, left where it is (`receptionist dead list`)."""
        ...

    async def replay_dead(self, consumer: str, message_ids: frozenset[str] | None = None
                          ) -> int:
        """Move dead messages (all, or those with these ids) back to `<consumer>`'s work
        queue as first deliveries, each removed from the dead queue only once the broker
        took it back (`receptionist dead replay`). Returns how many moved."""
        ...


async def publish_envelopes(transport: Transport,
                            envelopes: Sequence[Envelope]) -> list[BaseException | None]:
    """Publish in order on one channel, every publish sent before any confirm is awaited
    (pipelined); what each publish raised, or None. The consumer of a stateless service and
    the outbox relay both send what they hold this way."""
    results = await asyncio.gather(*(
        transport.publish(e.to_json(), e.type, message_id=str(e.event_id))
        for e in envelopes), return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]
