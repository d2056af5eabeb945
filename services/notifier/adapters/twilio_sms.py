"""Twilio SMS sender, through the official SDK (`client.messages.create_async`).

Each message leaves from the business's SMS number (`OutboundMessage.sender`) with a
`StatusCallback` on ingress (`PUBLIC_BASE_URL/webhooks/twilio/status`), so delivery reports
come back signed like every Twilio webhook. Twilio sends a body of up to 1600 characters as
one concatenated SMS itself; a longer one is split here at word boundaries and sent as
parts, in order (the log row keeps every part's id).

The SDK is given an HTTP client of our own (`HttpxTwilioClient`, httpx underneath) that
reaches `TWILIO_API_BASE_URL` when it is set (a local stub in tests) and turns 429, 5xx and
network failures into `Retryable` with the `Retry-After` Twilio gave; the SDK itself turns
other refusals into `TwilioRestException`, whose Twilio error code says whether the
recipient is unreachable (`Undeliverable`: invalid number, landline, unsubscribed) or the
request was wrong (`Rejected`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from services.notifier.adapters.base import (
    OutboundMessage,
    Rejected,
    Retryable,
    Sent,
    Undeliverable,
    parse_retry_after,
)

log = logging.getLogger(__name__)

MAX_BODY = 1600
"""Twilio's limit for one message (it concatenates the SMS segments itself)."""

UNREACHABLE_CODES = frozenset({
    "21211",  # invalid 'To' number
    "21217",  # the number does not appear to be valid
    "21401",  # invalid phone number
    "21407",  # this number cannot be reached by SMS
    "21610",  # the recipient replied STOP to this sender (carrier-level opt-out)
    "21612",  # Twilio cannot route to this number
    "21614",  # 'To' is not a mobile number (a landline)
})
UNREACHABLE_STATUS_CODES = frozenset({
    "30004",  # message blocked (the recipient blocks it or opted out)
    "30005",  # unknown destination handset: the number does not exist
    "30006",  # landline or unreachable carrier
    *UNREACHABLE_CODES,
})
"""The error codes of a status callback saying the recipient cannot get SMS."""
RETRYABLE_CODES = frozenset({"20429", "20500", "20503", "30001"})


def utf16_len(text: str) -> int:
    """How Twilio counts characters (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_body(text: str, limit: int = MAX_BODY) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at spaces or line breaks where
    there are any (a word longer than a part is cut where it must be)."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut = _fit(rest, limit)
        space = max(rest.rfind(" ", 0, cut + 1), rest.rfind("\n", 0, cut + 1))
        if space > 0:
            cut = space
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _fit(text: str, limit: int) -> int:
    """The longest prefix length of `text` that is at most `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's HTTP client over httpx: `base_url` replaces `https://api.twilio.com` (and
    every other Twilio host) when given; 429, 5xx and failures to connect raise `Retryable`
    before the SDK reads the answer."""

    def __init__(self, *, base_url: str = "", timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout_s)
        self._base = urlsplit(base_url.rstrip("/")) if base_url.strip() else None
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    def url(self, uri: str) -> str:
        if self._base is None:
            return uri
        target = urlsplit(uri)
        return urlunsplit((self._base.scheme, self._base.netloc,
                           self._base.path + target.path, target.query, ""))

    async def request(self, method: str, uri: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None,
                      headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None,
                      timeout: float | None = None,  # noqa: ASYNC109 (the SDK passes it)
                      allow_redirects: bool = False) -> Response:
        try:
            answer = await self._client.request(
                method, self.url(uri), params=_form(params), data=_form(data),
                headers=headers, auth=auth, timeout=timeout or self.timeout,
                follow_redirects=allow_redirects)
        except httpx.TransportError as exc:
            raise Retryable(f"twilio: {type(exc).__name__}") from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            code = _code_of(answer)
            raise Retryable(f"twilio: HTTP {answer.status_code}"
                            + (f", error {code}" if code else ""), code=code,
                            retry_after=parse_retry_after(answer.headers.get("Retry-After")))
        return Response(answer.status_code, answer.text, dict(answer.headers))

    async def aclose(self) -> None:
        await self._client.aclose()


def _form(values: dict[str, object] | None) -> Any:
    return None if not values else {k: v if isinstance(v, list) else str(v)
                                    for k, v in values.items()}


def _code_of(answer: httpx.Response) -> str | None:
    try:
        code = answer.json().get("code")
    except (ValueError, AttributeError):
        return None
    return str(code) if code else None


class TwilioSmsChannel:
    def __init__(self, account_sid: str, auth_token: str, *, status_callback: str | None,
                 http_client: HttpxTwilioClient | None = None) -> None:
        self.http = http_client or HttpxTwilioClient()
        self._client = Client(account_sid, auth_token, http_client=self.http)
        self.status_callback = status_callback

    async def send(self, message: OutboundMessage) -> Sent:
        if not message.sender:
            raise Rejected("twilio: the business has no channels.sms number to send from")
        ids = []
        for part in split_body(message.text):
            ids.append(await self._create(message, part))
        return Sent(ids=tuple(ids), sent_as="sms")

    async def _create(self, message: OutboundMessage, body: str) -> str:
        extra: dict[str, Any] = {}
        if self.status_callback:
            extra["status_callback"] = self.status_callback
        try:
            created = await self._client.messages.create_async(
                to=message.to, from_=message.sender, body=body, **extra)
        except TwilioRestException as exc:
            raise _refusal(exc) from None
        return str(created.sid)

    async def aclose(self) -> None:
        await self.http.aclose()


def _refusal(exc: TwilioRestException) -> Exception:
    """The SDK's exception as ours. Its message quotes the number: it is left out."""
    code = str(exc.code) if exc.code else None
    reason = f"twilio: HTTP {exc.status}" + (f", error {code}" if code else "")
    if code in RETRYABLE_CODES:
        return Retryable(reason, code=code)
    if code in UNREACHABLE_CODES:
        return Undeliverable(reason, code=code)
    return Rejected(reason, code=code)
