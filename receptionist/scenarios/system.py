"""The real scenario driver: every service composed in one process on a simulated clock.

Each scenario file gets a database of its own (cloned from a migrated template, so it costs
a `CREATE DATABASE`), the in-memory bus (or RabbitMQ with `--amqp`), and webhooks signed the
way each provider signs them, entering through the real ingress app.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from secrets import token_hex
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from libs.bus.amqp import AmqpTransport
from libs.bus.memory import MemoryTransport
from libs.bus.models import OutboxMessage
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Transport
from libs.business.profile import BusinessProfile, load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts.vocabulary import OFFERED
from libs.db.databases import create_database_async, drop_database_async, dsn_of, new_name
from libs.db.session import make_engine, make_session_factory
from libs.runtime.definition import Wiring
from libs.runtime.host import ServiceHost
from libs.settings import get_settings
from receptionist import migrate
from receptionist.bootstrap import compose, full_topology
from receptionist.scenarios.driver import DriverFactory, SentMessage
from receptionist.scenarios.model import Scenario
from services.fsm.models import Booking, Conversation, Customer
from services.ingress import whatsapp
from services.ingress.deps import IngressConfig, IngressDeps
from services.ingress.limits import Rate
from services.ingress.webchat_guard import WebChatConfig
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.handlers import NotifierDeps
from services.payments.adapters import offline
from services.payments.handlers import PaymentsDeps
from services.payments.models import Deposit

PUBLIC_URL = "https://receptionist.test"
SCENARIO_SESSION_TTL_S = 400 * 24 * 3600
RETRY_DELAYS_MS = (20, 50, 100)
IDLE_ROUNDS = 3


@dataclass
class _Databases:
    """A migrated template database per run; each scenario clones it."""

    server_url: str
    template: str | None = None

    async def fresh(self) -> tuple[str, str]:
        if self.template is None:
            name = new_name("scenario_template")
            await create_database_async(self.server_url, name)
            self.template = name
            await migrate.upgrade(dsn_of(self.server_url, name))
        name = new_name("scenario")
        return name, await create_database_async(self.server_url, name, template=self.template)

    async def drop(self, name: str) -> None:
        await drop_database_async(self.server_url, name)

    async def close(self) -> None:
        if self.template is not None:
            await self.drop(self.template)
            self.template = None


@dataclass(frozen=True)
class _Visitor:
    token: str    # what the page sends with each message
    address: str  # web:<session id>, how the system knows them


class SimulatedSystem:
    """A `ScenarioDriver` over the composed system (see receptionist/scenarios/driver.py)."""

    def __init__(self, host: ServiceHost, channel: RecordingChannel,
                 gateway: offline.OfflineGateway, secrets: IngressConfig,
                 clock: SimulatedClock, profiles: dict[str, BusinessProfile],
                 scenario: Scenario) -> None:
        self.host = host
        self.sessions = host.wiring.sessions
        self.transport = host.wiring.transport
        self.relay = host.wiring.relay
        self.channel = channel
        self.gateway = gateway
        self.clock = clock
        self.profiles = profiles
        self.scenario = scenario
        self.tz: ZoneInfo = profiles[scenario.business].tz
        self._twilio_token = secrets.twilio_auth_token or ""
        self._whatsapp_secret = secrets.whatsapp_app_secret or ""
        self._stripe_secret = secrets.stripe_webhook_secret or ""
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=host.apps["ingress"]), base_url=PUBLIC_URL)
        self._last_request: tuple[str, dict[str, Any]] | None = None
        self._ids = itertools.count(1)
        # (scenario customer, business) -> the web chat session ingress issued them
        self._visitors: dict[tuple[str, str], _Visitor] = {}

    async def _visit(self, customer: str, business_id: str) -> _Visitor:
        """A web visitor is named like a phone in the scenario; the web chat knows them by
        the session ingress issued when their page first asked (one per visitor and
        business, kept for the whole scenario)."""
        found = self._visitors.get((customer, business_id))
        if found is None:
            response = await self._client.post(f"/webchat/{business_id}/sessions")
            if response.status_code != 201:
                raise RuntimeError(f"ingress answered {response.status_code} for a web chat "
                                   f"session: {response.text}")
            token = response.json()["session"]
            found = self._visitors[(customer, business_id)] = _Visitor(
                token=token, address=f"web:{token.split('.')[0]}")
        return found

    def _address(self, customer: str, business_id: str) -> str:
        """How the system knows this scenario customer: their number, or their web session."""
        visitor = self._visitors.get((customer, business_id))
        return visitor.address if visitor else customer

    def _customer(self, address: str) -> str:
        """The scenario's name for an address a message was sent to."""
        for (customer, _), visitor in self._visitors.items():
            if address == visitor.address:
                return customer
        return address

    async def close(self) -> None:
        await self._client.aclose()

    # --- actions ---------------------------------------------------------------------------

    async def say(self, *, text: str, customer: str, channel: str, business_id: str) -> None:
        profile = self.profiles[business_id]
        n = next(self._ids)
        request: tuple[str, dict[str, Any]]
        if channel == "sms":
            form = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "ACscenario",
                    "From": customer, "To": profile.channels.sms or "", "Body": text,
                    "NumMedia": "0"}
            signature = RequestValidator(self._twilio_token).compute_signature(
                PUBLIC_URL + "/webhooks/twilio/sms", form)
            request = ("/webhooks/twilio/sms",
                       {"data": form, "headers": {"X-Twilio-Signature": signature}})
        elif channel == "whatsapp":
            body = json.dumps(whatsapp.message_payload(
                phone_number_id=profile.channels.whatsapp_phone_number_id or "",
                message_id=f"wamid.{uuid.uuid4().hex}", sender=customer, text=text,
                timestamp=int(self.clock.now().timestamp()))).encode()
            request = ("/webhooks/whatsapp", {"content": body, "headers": {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": whatsapp.sign(self._whatsapp_secret, body)}})
        else:
            visitor = await self._visit(customer, business_id)
            request = (f"/webchat/{business_id}/messages",
                       {"json": {"session": visitor.token, "text": text,
                                 "message_id": f"w{n}"}})
        self._last_request = request
        await self._send(request)

    async def resend(self) -> None:
        if self._last_request is None:
            raise RuntimeError("resend before any say")
        await self._send(self._last_request)

    async def _send(self, request: tuple[str, dict[str, Any]]) -> None:
        path, kwargs = request
        response = await self._client.post(path, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"ingress answered {response.status_code}: {response.text}")

    async def wait(self, delta: timedelta) -> None:
        await self._advance_to(self.clock.now() + delta)

    async def wait_until(self, local: datetime) -> None:
        await self._advance_to(local.replace(tzinfo=self.tz))

    async def _advance_to(self, target: datetime) -> None:
        """Fire every timer due up to `target` in time order, letting the system settle
        after each, so a reminder sent at 10:00 is seen before one at 10:05 is computed."""
        while True:
            async with self.sessions() as session:
                due = await self.host.next_due(session)
            if due is None or due > target:
                break
            if due > self.clock.now():
                self.clock.set(due)
            await self.host.tick()
            await self.idle()
        if target > self.clock.now():
            self.clock.set(target)
        await self.host.tick()
        await self.idle()

    async def pay(self, *, customer: str, business_id: str, times: int) -> None:
        """Post Stripe's signed `checkout.session.completed` for the customer's newest
        checkout, `times` times (the same event id: a redelivery)."""
        async with self.sessions() as session:
            session_id = await session.scalar(
                select(Deposit.checkout_session_id)
                .join(Booking, Booking.id == Deposit.booking_id)
                .join(Customer, Customer.id == Booking.customer_id)
                .where(Customer.business_id == business_id,
                       Customer.address == self._address(customer, business_id))
                .order_by(Deposit.created_at.desc(), Deposit.attempt.desc()).limit(1))
        if session_id is None or session_id not in self.gateway.sessions:
            raise RuntimeError(f"no checkout to pay for {customer} at {business_id}")
        found = self.gateway.sessions[session_id]
        body = json.dumps(offline.completed_event(session_id, found.request,
                                                  found.payment_intent)).encode()
        for _ in range(times):
            await self._send(("/webhooks/stripe", {"content": body, "headers": {
                "Content-Type": "application/json",
                "Stripe-Signature": offline.stripe_signature(self._stripe_secret, body)}}))
            await self.idle()

    async def idle(self) -> None:
        """Until nothing is in flight, and nothing is due now: work a step makes due at once
        (a time freed for the waitlist) is part of that step, as the production ticker runs
        it within a second. The clock does not move."""
        quiet = 0
        while quiet < IDLE_ROUNDS:
            published = await self.relay.drain()
            transport = self.transport
            if isinstance(transport, MemoryTransport):
                await transport.wait_idle()
                busy = transport.busy()
            else:
                busy = await self._amqp_busy(transport)
            pending = await self._outbox_pending()
            due = await self._due_now()
            if due:
                await self.host.tick()
            quiet = 0 if (published or busy or pending or due) else quiet + 1

    async def _due_now(self) -> bool:
        async with self.sessions() as session:
            due = await self.host.next_due(session)
        return due is not None and due <= self.clock.now()

    async def _outbox_pending(self) -> int:
        async with self.sessions() as session:
            n = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.published_at.is_(None)))
        return int(n or 0)

    async def _amqp_busy(self, transport: Transport) -> bool:
        import asyncio

        await asyncio.sleep(0.02)
        if any(c.in_flight for c in self.host.consumers):
            return True
        assert isinstance(transport, AmqpTransport)
        channel = await transport.connection.channel()
        try:
            for consumer in self.host.consumers:
                queue = await channel.declare_queue(transport.topology.queue(consumer.name),
                                                    passive=True)
                if queue.declaration_result.message_count:
                    return True
        finally:
            await channel.close()
        return False

    # --- observations ----------------------------------------------------------------------

    async def dead_letters(self) -> list[str]:
        """What ended in any service's dead-letter queue: a scenario must leave none."""
        found = []
        for consumer in self.host.consumers:
            for body, headers in await self.transport.dead_letters(consumer.name):
                found.append(f"{consumer.name}: {headers.get('x-dead-reason')}: "
                             f"{headers.get('x-error')} ({body[:200]!r})")
        return found

    def mark(self) -> int:
        return len(self.channel.sent)

    def messages_since(self, mark: int) -> list[SentMessage]:
        return [SentMessage(business_id=m.business_id, to=self._customer(m.to), text=m.text,
                            audience="staff" if m.audience == "staff" else "customer")
                for m in self.channel.sent[mark:]]

    async def state(self, *, customer: str, business_id: str) -> str:
        async with self.sessions() as session:
            state = await session.scalar(
                select(Conversation.state).join(Customer, Customer.id == Conversation.customer_id)
                .where(Customer.business_id == business_id,
                       Customer.address == self._address(customer, business_id)))
        return state or "IDLE"

    async def bookings(self, *, customer: str, business_id: str) -> list[dict[str, object]]:
        tz = self.profiles[business_id].tz
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(Booking).join(Customer, Customer.id == Booking.customer_id)
                .where(Customer.business_id == business_id,
                       Customer.address == self._address(customer, business_id),
                       # a held move time, or a time offered from the waitlist, is no
                       # appointment
                       Booking.holds_for.is_(None), Booking.status != OFFERED)
                .order_by(Booking.seq))).all()
        return [{
            "service": b.service,
            "start": b.starts_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            "status": b.status,
            "deposit": b.deposit_status,
            "deposit_amount": f"{b.deposit_amount:.2f}" if b.deposit_amount is not None
            else None,
            "attendance_confirmed": b.attendance_confirmed,
            "no_show_risk": b.no_show_risk,
        } for b in rows]


def scenario_webchat(secret: str) -> WebChatConfig:
    """Real tokens, but sessions that outlast any scenario's simulated days and rate limits
    no conversation reaches: scenarios play conversations, not floods (the limits are
    tested in tests/integration/test_webchat_limits.py). The booking caps stay real."""
    unlimited = Rate(per_minute=1_000_000, burst=1_000_000)
    return WebChatConfig(secret=secret, session_ttl_s=SCENARIO_SESSION_TTL_S, per_ip=unlimited,
                         per_session=unlimited, per_business=unlimited)


def driver_factory(*, database_url: str | None = None, amqp_url: str | None = None,
                   notifier: Callable[[], NotifierDeps] | None = None,
                   ) -> tuple[DriverFactory, _Databases]:
    """A factory for `runner.run_files`, and the databases to close when the run ends.
    `notifier` builds notifier's adapters for each scenario (default: the recording
    channel); its channel must record what it sent (a `RecordingChannel`)."""
    databases = _Databases(database_url or get_settings().database_url)

    @contextlib.asynccontextmanager
    async def factory(scenario: Scenario, businesses_dir: Path) -> AsyncIterator[SimulatedSystem]:
        name, url = await databases.fresh()
        engine = make_engine(url, pool_size=5)
        sessions = make_session_factory(engine)
        profiles = {b: load_profile(businesses_dir / f"{b}.yaml")
                    for b in scenario.business_ids}
        async with sessions() as session, session.begin():
            for profile in profiles.values():
                await import_profile(session, profile)
        tz = profiles[scenario.business].tz
        clock = SimulatedClock(scenario.start.replace(tzinfo=tz))
        # Scenarios never reach Google: calendar is off whatever the environment says.
        no_google = get_settings().model_copy(update={"google_service_account_path": None})
        topology = full_topology(f"scenario{uuid.uuid4().hex[:8]}", RETRY_DELAYS_MS,
                                 delivery_limit=5, settings=no_google)
        transport: Transport = (AmqpTransport(amqp_url, topology) if amqp_url
                                else MemoryTransport(topology))
        await transport.connect()
        await transport.declare()
        secret = token_hex(32)  # web chat sessions are signed with a secret of this run
        settings = no_google.model_copy(update={"webchat_secret": secret})
        wiring = Wiring(settings=settings, clock=clock, sessions=sessions,
                        transport=transport,
                        relay=OutboxRelay(sessions, transport, clock, poll_interval_s=0.05))
        deps = notifier() if notifier is not None else NotifierDeps(channel=RecordingChannel())
        if not isinstance(deps.channel, RecordingChannel):
            raise TypeError("the scenario runner reads what was sent from a RecordingChannel")
        channel = deps.channel
        gateway = offline.OfflineGateway(PUBLIC_URL)
        made_up = IngressConfig(public_base_url=PUBLIC_URL, twilio_auth_token=token_hex(16),
                                 whatsapp_app_secret=token_hex(16),
                                 stripe_webhook_secret=f"whsec_{token_hex(16)}",
                                 webchat=scenario_webchat(secret))
        host = compose(wiring, overrides={
            "ingress": IngressDeps(transport=transport, session_factory=sessions, clock=clock,
                                   config=made_up),
            "notifier": deps,
            "payments": PaymentsDeps(gateway=gateway),
        })
        await host.start(prefetch=1 if amqp_url is None else 10)
        driver = SimulatedSystem(host, channel, gateway, made_up, clock, profiles, scenario)
        try:
            yield driver
        finally:
            await driver.close()
            await host.stop()
            if isinstance(transport, AmqpTransport):
                await transport.delete_topology()
            await transport.close()
            await engine.dispose()
            await databases.drop(name)

    return factory, databases
