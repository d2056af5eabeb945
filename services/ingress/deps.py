"""What ingress's routes share: the bus, the database, the clock, the webhook secrets, and
the one way to publish what a webhook said (kept on the app, read by a dependency)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.transport import PublishError, Transport
from libs.clock import Clock
from libs.contracts.envelope import deterministic_event_id
from libs.contracts.events import InboundMessageReceived
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from libs.settings import Settings
from services.ingress.webchat_guard import WebChatConfig

log = logging.getLogger(__name__)



def _secret(value: str | None) -> str | None:
    """A blank secret counts as unset: it must never verify anything."""
    return value if value and value.strip() else None


class HalfConfigured(SystemExit):
    """A provider has some of its settings but not all: the process must not start."""


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
    webchat: WebChatConfig = field(default_factory=WebChatConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> IngressConfig:
        """The configuration, refusing a provider that is only half set up (a blank value
        counts as unset): it would take messages it cannot verify, or verify none."""
        config = cls._read(settings)
        problems = config.half_configured("public_base_url" in settings.model_fields_set)
        if problems:
            raise HalfConfigured("ingress refuses to start: " + "; ".join(problems))
        return config

    def half_configured(self, public_url_set: bool) -> list[str]:
        problems = []
        if (self.whatsapp_app_secret is None) != (self.whatsapp_verify_token is None):
            problems.append("WhatsApp needs both WHATSAPP_APP_SECRET (to verify webhooks) and "
                            "WHATSAPP_VERIFY_TOKEN (for Meta's verify handshake)")
        if self.twilio_auth_token is not None and not public_url_set:
            problems.append("Twilio signs the public URL it calls: set PUBLIC_BASE_URL along "
                            "with TWILIO_AUTH_TOKEN")
        return problems

    @classmethod
    def _read(cls, settings: Settings) -> IngressConfig:
        return cls(public_base_url=settings.public_base_url,
                   twilio_auth_token=_secret(settings.twilio_auth_token),
                   whatsapp_app_secret=_secret(settings.whatsapp_app_secret),
                   whatsapp_verify_token=_secret(settings.whatsapp_verify_token),
                   stripe_webhook_secret=_secret(settings.stripe_webhook_secret),
                   webchat_replies_url=settings.webchat_replies_url.rstrip("/"),
                   webchat=WebChatConfig.from_settings(settings))


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
        if isinstance(message, InboundMessageReceived):
            message = cleaned(message)
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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # a Python str only holds lone ones
_UNCLEAN = re.compile(f"{_CONTROL.pattern}|{_SURROGATE.pattern}")


def clean(text: str) -> str:
    """Text as every later hop can store and send it: a lone UTF-16 surrogate becomes
    U+FFFD and control characters (NUL, which PostgreSQL's JSONB refuses, among them) are
    dropped; line breaks and tabs stay. Text with neither (nearly all) is looked at once."""
    if _UNCLEAN.search(text) is None:
        return text
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


_CLEANED_FIELDS = ("text", "customer", "to", "provider_message_id")


def cleaned(message: InboundMessageReceived) -> InboundMessageReceived:
    """The message with `clean` applied to what the customer and the provider wrote; the
    same message when all of it was clean already (nearly always)."""
    changed = {name: new for name in _CLEANED_FIELDS
               if (new := clean(old := getattr(message, name))) is not old}
    return message.model_copy(update=changed) if changed else message


def clean_json(value: Any) -> Any:
    """`clean` applied to every string of a parsed JSON document."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): clean_json(v) for k, v in value.items()}
    return value


def app_deps(request: Request) -> IngressDeps:
    """The app's dependencies, read off the app: the webhooks call it themselves."""
    found: IngressDeps = request.app.state.ingress
    return found


async def ingress_deps(request: Request) -> IngressDeps:
    """`app_deps` as a FastAPI dependency. Async, as every dependency here: FastAPI runs a
    plain `def` dependency in a worker thread, a hop per request that cost more than the
    rest of the dependency."""
    return app_deps(request)


async def raw_body(request: Request, secret: str | None, provider: str) -> bytes:
    """The raw body (signatures are over it) of a configured provider's webhook; the app's
    `BodyLimit` refused it already if it was too large to be one."""
    if secret is None:
        raise HTTPException(503, f"{provider} is not configured")
    return await request.body()
