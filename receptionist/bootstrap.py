"""The composition root: every service's handlers wired to real or offline adapters.

Production runs each service as its own process (`python -m services.<name>`, which uses
`libs.runtime`); the demo, the scenario runner and the integration tests compose them all
here in one process, each service still its own consumer on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.consumer import Consumer
from libs.bus.context import Handler
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Transport
from libs.clock import Clock
from libs.timers.ticker import TimerHandler, tick
from services.fsm.handlers import build_handlers as fsm_handlers
from services.fsm.handlers import on_timer as fsm_on_timer
from services.ingress.app import IngressDeps, create_app
from services.nlu.handlers import build_handlers as nlu_handlers
from services.notifier.adapters.base import OutboundChannel
from services.notifier.handlers import build_handlers as notifier_handlers
from services.payments.adapters.base import PaymentGateway
from services.payments.handlers import Payments


@dataclass(frozen=True)
class Adapters:
    """The outside world, real or offline, as one bundle."""

    channel: OutboundChannel
    gateway: PaymentGateway


@dataclass(frozen=True)
class Secrets:
    """What ingress verifies webhooks with (made up per run by the scenario runner)."""

    public_base_url: str = "http://testserver"
    twilio_auth_token: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    stripe_webhook_secret: str | None = None


@dataclass
class System:
    transport: Transport
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    relay: OutboxRelay
    consumers: list[Consumer]
    ingress: FastAPI
    timer_handlers: dict[str, TimerHandler]
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self, *, prefetch: int = 50) -> None:
        for consumer in self.consumers:
            await consumer.start(prefetch=prefetch)
        self._tasks.append(asyncio.get_running_loop().create_task(self.relay.run()))

    async def tick(self) -> int:
        """Fire every timer due now, for every service that owns timers."""
        fired = 0
        for owner, handler in self.timer_handlers.items():
            fired += await tick(self.session_factory, self.clock, owner=owner, handler=handler,
                                on_commit=self.relay.nudge)
        return fired

    async def stop(self) -> None:
        await self.transport.stop_consuming()
        self.relay.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def build_system(
    *,
    transport: Transport,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    adapters: Adapters,
    secrets: Secrets,
    outbox_poll_s: float = 0.25,
) -> System:
    relay = OutboxRelay(session_factory, transport, clock, poll_interval_s=outbox_poll_s)
    payments = Payments(adapters.gateway)
    handlers: dict[str, Mapping[str, Handler]] = {
        "nlu": nlu_handlers(),
        "fsm": fsm_handlers(),
        "payments": payments.handlers(),
        "notifier": notifier_handlers(adapters.channel),
    }
    consumers = [
        Consumer(name, service, session_factory=session_factory, transport=transport,
                 clock=clock, on_commit=relay.nudge)
        for name, service in handlers.items()
    ]
    ingress = create_app(IngressDeps(
        transport=transport, session_factory=session_factory, clock=clock,
        public_base_url=secrets.public_base_url, twilio_auth_token=secrets.twilio_auth_token,
        whatsapp_app_secret=secrets.whatsapp_app_secret,
        whatsapp_verify_token=secrets.whatsapp_verify_token,
        stripe_webhook_secret=secrets.stripe_webhook_secret))
    return System(transport=transport, session_factory=session_factory, clock=clock,
                  relay=relay, consumers=consumers, ingress=ingress,
                  timer_handlers={"fsm": fsm_on_timer,
                                  "payments": payments.on_hold_expired})
