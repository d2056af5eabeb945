"""What a handler gets: the event's envelope, the transaction it runs in, the clock, and
`emit`, which writes outgoing events to the outbox in that same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.clock import Clock
from libs.contracts.envelope import Envelope
from libs.contracts.events import Event
from libs.contracts.registry import make_envelope


@dataclass
class HandlerContext:
    """`envelope` is the event being handled; a timer firing has none and starts a new
    correlation of its own."""

    envelope: Envelope | None
    session: AsyncSession
    clock: Clock
    business_id: str
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    emitted: list[Envelope] = field(default_factory=list)

    @classmethod
    def for_event(cls, envelope: Envelope, session: AsyncSession, clock: Clock) -> HandlerContext:
        return cls(envelope=envelope, session=session, clock=clock,
                   business_id=envelope.business_id, correlation_id=envelope.correlation_id)

    @classmethod
    def for_timer(cls, business_id: str, session: AsyncSession, clock: Clock) -> HandlerContext:
        return cls(envelope=None, session=session, clock=clock, business_id=business_id)

    def emit(
        self,
        event: Event,
        *,
        business_id: str | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        """Queue an event caused by the one being handled; it is written to the outbox in the
        handler's transaction, so it is published if and only if the handler commits."""
        out = make_envelope(
            event,
            business_id=business_id or self.business_id,
            occurred_at=self.clock.now(),
            correlation_id=self.correlation_id,
            causation_id=self.envelope.event_id if self.envelope else None,
            event_id=event_id,
        )
        self.emitted.append(out)
        return out


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


class PermanentError(Exception):
    """A failure that retrying cannot fix: the message goes straight to `<queue>.dead`."""
