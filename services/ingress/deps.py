"""What ingress's routes share: the bus, the database, the clock, the webhook secrets, and
the one way to publish what a webhook said (kept on the app, read by a dependency)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.transport import PublishError, Transport
from libs.clock import Clock
from libs.contracts.envelope import deterministic_event_id
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from libs.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def _secret(value: str | None) -> str | None:
    """A blank secret counts as unset: it must never verify anything."""
    return value if value and value.strip() else None


@dataclass(frozen=True)
class IngressConfig:
    """What webhooks are verified with (a provider without its secret is refused: 503),
    and the public addresses ingress states."""

    public_base_url: str = "http://testserver"
    twilio_auth_token: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    stripe_webhook_secret: str | None = None
    webchat_replies_url: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> IngressConfig:
        return cls(public_base_url=settings.public_base_url,
                   twilio_auth_token=_secret(settings.twilio_auth_token),
                   whatsapp_app_secret=_secret(settings.whatsapp_app_secret),
                   whatsapp_verify_token=_secret(settings.whatsapp_verify_token),
                   stripe_webhook_secret=_secret(settings.stripe_webhook_secret),
                   webchat_replies_url=settings.webchat_replies_url.rstrip("/"))


@dataclass(frozen=True)
class IngressDeps:
    transport: Transport
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    config: IngressConfig

    async def publish(self, message: Message, business_id: str, *id_parts: str) -> None:
        """Publish with a broker confirm, mandatory: 503 when the broker did not take it or
        no queue would receive it (a fresh deployment before `bus declare`), so the
        provider retries. The event id derives from the provider's ids, so a retry dedupes."""
        envelope = make_envelope(message, business_id=business_id,
                                 occurred_at=self.clock.now(),
                                 event_id=deterministic_event_id(*id_parts))
        try:
            await self.transport.publish(envelope.to_json(), envelope.type,
                                         message_id=str(envelope.event_id), mandatory=True)
        except PublishError as exc:
            log.error("%s %s not published; the provider will retry: %s", envelope.type,
                      envelope.event_id, exc)
            raise HTTPException(503, "broker unavailable, retry later") from exc


def ingress_deps(request: Request) -> IngressDeps:
    deps: IngressDeps = request.app.state.ingress
    return deps


async def raw_body(request: Request, secret: str | None, provider: str) -> bytes:
    """The raw body (signatures are over it) of a configured provider's webhook, small
    enough to be one."""
    if secret is None:
        raise HTTPException(503, f"{provider} is not configured")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise HTTPException(413, "payload too large")
    return raw
