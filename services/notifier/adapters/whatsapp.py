"""WhatsApp Cloud API sender: `POST {base}/{version}/{phone_number_id}/messages` over httpx.

Inside the 24-hour customer-service window (the customer wrote less than 24 hours ago) it
sends free text, or reply buttons when the message offers up to three short choices (a
tapped button comes back as a message whose text is the button's title). Outside it, only
an approved template may be sent: the business's (or the default) template, whose body is
one variable carrying the text. With no template, it refuses (`Undeliverable`,
`outside_window_no_template`) and never sends free text.

Errors: 429, 5xx, Meta's throttling codes and network failures are `Retryable` (with
`Retry-After` when given); a recipient who cannot receive WhatsApp messages is
`Undeliverable`; anything else Meta refuses (token, template, request) is `Rejected`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from services.notifier.adapters.base import (
    OutboundMessage,
    Rejected,
    Retryable,
    Sent,
    Undeliverable,
    parse_retry_after,
    safe_detail,
)

MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_INTERACTIVE_BODY = 1024
MAX_TEXT = 4096

UNREACHABLE_CODES = frozenset({
    "131026",  # message undeliverable: not on WhatsApp, terms not accepted, old app
    "131021",  # the recipient is the sender
    "131045",  # the recipient's phone number is not registered / could not be verified
})
"""The recipient cannot get WhatsApp messages: recorded as failed, staff alerted once."""

RETRYABLE_CODES = frozenset({
    "4", "80007", "130429",  # application / account / throughput rate limits
    "131048",                # spam rate limit
    "131056",                # too many messages to this one recipient
    "131000", "131016",      # something went wrong / service unavailable
    "1", "2",                # unknown / temporary API errors
})

_WHITESPACE_RUN = re.compile(r"\s*[\n\t\r]+\s*")
_SPACES = re.compile(r" {4,}")


def template_text(text: str) -> str:
    """A template parameter may hold no newline or tab and no more than 3 spaces in a row
    (Meta refuses it otherwise, error 132018): lines are joined with " - "."""
    return _SPACES.sub("   ", _WHITESPACE_RUN.sub(" - ", text.strip()))


def digits(address: str) -> str:
    """`+15555550101` as WhatsApp wants it: `15555550101`."""
    return address.strip().lstrip("+")


def message_body(message: OutboundMessage) -> tuple[dict[str, Any], str]:
    """The request body for this message, and the form it takes (text, buttons, template)."""
    base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": digits(message.to)}
    if not message.window_open:
        template = message.template
        if template is None:
            raise Undeliverable("outside_window_no_template")
        return {**base, "type": "template", "template": {
            "name": template.name, "language": {"code": template.language},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": template_text(message.text)}]}]}}, "template"
    if _buttons_fit(message):
        return {**base, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": message.text},
            "action": {"buttons": [{"type": "reply", "reply": {"id": choice, "title": choice}}
                                   for choice in message.choices]}}}, "buttons"
    return {**base, "type": "text",
            "text": {"preview_url": False, "body": message.text[:MAX_TEXT]}}, "text"


def _buttons_fit(message: OutboundMessage) -> bool:
    choices = message.choices
    return (0 < len(choices) <= MAX_BUTTONS and len(set(choices)) == len(choices)
            and all(0 < len(c) <= MAX_BUTTON_TITLE for c in choices)
            and len(message.text) <= MAX_INTERACTIVE_BODY)


class WhatsAppCloudChannel:
    """One client for every business: the access token is the system user's, the sender is
    each business's phone-number id (`OutboundMessage.sender`)."""

    def __init__(self, access_token: str, *, base_url: str = "https://graph.facebook.com",
                 api_version: str = "v21.0", timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/{api_version}", timeout=timeout_s,
            transport=transport, headers={"Authorization": f"Bearer {access_token}"})

    async def send(self, message: OutboundMessage) -> Sent:
        if not message.sender:
            raise Rejected("whatsapp: the business has no channels.whatsapp_phone_number_id")
        body, sent_as = message_body(message)
        try:
            response = await self._client.post(f"/{message.sender}/messages", json=body)
        except httpx.TransportError as exc:  # refused, reset, timed out: try again
            raise Retryable(f"whatsapp: {type(exc).__name__}") from exc
        if response.is_success:
            try:
                return Sent(ids=(str(response.json()["messages"][0]["id"]),), sent_as=sent_as)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise Rejected("whatsapp: an answer without a message id") from exc
        raise _error(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def _error(response: httpx.Response) -> Exception:
    status = response.status_code
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = str(error.get("code")) if isinstance(error, dict) and error.get("code") else None
    reason = f"whatsapp: HTTP {status}" + (f", error {code}" if code else "")
    if isinstance(error, dict) and error.get("message"):
        reason += f" ({safe_detail(str(error['message']))})"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 or status >= 500 or code in RETRYABLE_CODES:
        return Retryable(reason, code=code, retry_after=retry_after)
    if code in UNREACHABLE_CODES:
        return Undeliverable(reason, code=code)
    return Rejected(reason, code=code)
