"""What the notifier integration tests share: the salon imported, the real senders pointed at
the local provider stub, a simulated clock, waits that are recorded instead of slept, and
the messages notifier consumes, built as they come off the bus."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.profile import BusinessProfile, load_profile, parse_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts.commands import ReplyRequested
from libs.contracts.envelope import Envelope
from libs.contracts.events import (
    CustomerOptedIn,
    CustomerOptedOut,
    DeliveryStatus,
)
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope, parse_payload
from services.notifier.adapters.base import Template
from services.notifier.adapters.by_channel import ByChannel
from services.notifier.adapters.twilio_sms import HttpxTwilioClient, TwilioSmsChannel
from services.notifier.adapters.webchat import WebChatChannel
from services.notifier.adapters.whatsapp import WhatsAppCloudChannel
from services.notifier.handlers import HANDLERS, NotifierDeps
from services.notifier.models import MessageLog
from services.notifier.sending import RetryPolicy
from tests.helpers import FIXTURE_BUSINESSES, handle_envelope
from tests.unit.notifier.provider_stubs import (
    ACCESS_TOKEN,
    ACCOUNT_SID,
    AUTH_TOKEN,
    MessagingStub,
)

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
CUSTOMER = "+15555550101"
SALON_SMS = "+12125550100"
SALON_WA = "109876543210001"
OWNER = "+12125550199"
CALLBACK = "https://receptionist.example.com/webhooks/twilio/status"


class Waits:
    """The retries' sleep: each wait recorded, none slept."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)


@dataclass
class Kit:
    sessions: Sessions
    stub: MessagingStub
    clock: SimulatedClock
    waits: Waits = field(default_factory=Waits)
    template: Template | None = None
    wrote_at: dict[str, datetime] = field(default_factory=dict)
    """When each customer last wrote on WhatsApp, as fsm keeps it (`customer_wrote`)."""

    def deps(self, **changes: Any) -> NotifierDeps:
        channels = ByChannel({
            "whatsapp": WhatsAppCloudChannel(ACCESS_TOKEN, base_url=self.stub.url,
                                             api_version="v21.0", timeout_s=5),
            "sms": TwilioSmsChannel(ACCOUNT_SID, AUTH_TOKEN, status_callback=CALLBACK,
                                    http_client=HttpxTwilioClient(base_url=self.stub.url,
                                                                  timeout_s=5)),
            "web": WebChatChannel()})
        deps = NotifierDeps(channel=channels, retry=RetryPolicy(), template=self.template,
                            sleep=self.waits)
        return replace(deps, **changes)

    def envelope(self, message: Message, *, at: datetime | None = None,
                 event_id: uuid.UUID | None = None) -> Envelope:
        return make_envelope(message, business_id="salon", occurred_at=at or self.clock.now(),
                             event_id=event_id)

    async def handle(self, envelope: Envelope, deps: NotifierDeps | None = None,
                     consumer: str = "notifier") -> None:
        handler = HANDLERS[type(_message_of(envelope))]
        await handle_envelope(handler, envelope, deps or self.deps(), sessions=self.sessions,
                              clock=self.clock, consumer=consumer)

    def asked(self, text: str, *, channel: str = "whatsapp", to: str = CUSTOMER,
              **fields: Any) -> ReplyRequested:
        """A reply as fsm asks for it: on WhatsApp it carries when the customer last wrote
        there (`customer_wrote`), unless the test says otherwise."""
        if channel == "whatsapp":
            fields.setdefault("customer_wrote_at", self.wrote_at.get(to))
        return ReplyRequested(channel=channel, to=to, text=text, **fields)  # type: ignore[arg-type]

    async def reply(self, text: str, *, channel: str = "whatsapp", to: str = CUSTOMER,
                    deps: NotifierDeps | None = None, **fields: Any) -> Envelope:
        envelope = self.envelope(self.asked(text, channel=channel, to=to, **fields))
        await self.handle(envelope, deps)
        return envelope

    def customer_wrote(self, at: datetime, customer: str = CUSTOMER) -> None:
        """The customer's WhatsApp message received at `at`: the replies asked for after it
        carry it."""
        self.wrote_at[customer] = at

    async def report(self, provider_message_id: str, status: str, *, channel: str = "whatsapp",
                     error_code: str | None = None) -> None:
        await self.handle(self.envelope(DeliveryStatus(
            channel=channel, provider_message_id=provider_message_id,  # type: ignore[arg-type]
            status=status, error_code=error_code,  # type: ignore[arg-type]
            reported_at=self.clock.now())))

    async def opted(self, out: bool, at: datetime, customer: str = CUSTOMER) -> None:
        event = (CustomerOptedOut(customer=customer, at=at) if out
                 else CustomerOptedIn(customer=customer, at=at))
        await self.handle(self.envelope(event))

    async def rows(self) -> list[MessageLog]:
        async with self.sessions() as session:
            return list((await session.scalars(
                select(MessageLog).order_by(MessageLog.seq))).all())

    async def row(self, envelope: Envelope) -> MessageLog:
        async with self.sessions() as session:
            return (await session.scalars(select(MessageLog).where(
                MessageLog.event_id == envelope.event_id))).one()


def _message_of(envelope: Envelope) -> Message:
    return parse_payload(envelope)


def salon(**channels: Any) -> BusinessProfile:
    profile = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    if not channels:
        return profile
    data = profile.to_json_dict()
    data["channels"] = {**data["channels"], **channels}
    return parse_profile(data)


async def make_kit(session_factory: Sessions, stub: MessagingStub) -> Kit:
    """The salon imported (no WhatsApp template), the clock at NOW."""
    async with session_factory() as session, session.begin():
        await import_profile(session, salon())
    return Kit(session_factory, stub, SimulatedClock(NOW))


async def use_profile(kit: Kit, profile: BusinessProfile) -> None:
    async with kit.sessions() as session, session.begin():
        await import_profile(session, profile)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
