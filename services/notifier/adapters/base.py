"""The outbound channel port: one method, implemented by each provider's adapter, and the
typed errors an adapter raises so the handler knows what to do with a failure.

- `Retryable`: the provider is busy or down (429, 5xx, no answer). The handler tries again
  with backoff, honouring `retry_after`, within its bounds; then dead-letters the message.
- `Undeliverable`: this recipient cannot get this message (not on WhatsApp, a landline, an
  invalid number, outside WhatsApp's window with no template). Recorded as failed, staff
  alerted once; nothing to retry.
- `Rejected`: the provider refused the request for a reason on our side (credentials, a
  template it does not know, a malformed request). Dead-lettered with the reason, so an
  operator can fix it and replay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from libs.logs import redact

_DIGIT_RUN = re.compile(r"\+?\d{7,}")


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp template whose body is one variable: the message's text."""

    name: str
    language: str = "en_US"


@dataclass(frozen=True)
class OutboundMessage:
    business_id: str
    channel: str
    to: str
    text: str
    audience: str
    purpose: str = "reply"
    choices: tuple[str, ...] = ()
    sender: str | None = None
    """Where it leaves from: the business's SMS number, or its WhatsApp phone-number id."""
    window_open: bool = True
    """WhatsApp: the customer wrote less than 24 hours ago, so free text may be sent."""
    template: Template | None = None
    """WhatsApp: what to send outside the window (None: such a message cannot be sent)."""
    requested_at: datetime | None = None


@dataclass(frozen=True)
class Sent:
    """What the provider took: its id for each part (one, unless an SMS was split) and the
    form it was sent in (text, buttons, template, sms, web, recorded)."""

    ids: tuple[str, ...]
    sent_as: str = "text"

    @property
    def provider_message_id(self) -> str:
        return self.ids[0]


class OutboundChannel(Protocol):
    async def send(self, message: OutboundMessage) -> str | Sent:
        """Deliver one message; returns the provider's message id (or ids, as `Sent`)."""
        ...


class ProviderError(Exception):
    """A provider call that did not deliver; `reason` is safe to log and to store (it never
    quotes the message or the number)."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Retryable(ProviderError):
    """429, 5xx or no answer: worth trying again, after `retry_after` seconds if the provider
    said so."""

    retryable = True  # libs.bus.faults reads it: a transient failure

    def __init__(self, reason: str, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class Undeliverable(ProviderError):
    """This recipient cannot receive this message: recorded as failed, staff alerted once."""


class Rejected(ProviderError):
    """Refused for a reason on our side (credentials, template, request): dead-lettered."""


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (an HTTP date is read as unknown: the backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def safe_detail(text: str, limit: int = 160) -> str:
    """A provider's own words about an error, fit for logs and dead-letter headers: numbers
    (a recipient's, without its "+") and secrets masked, and short."""
    return redact(_DIGIT_RUN.sub("***", text))[:limit]
