"""Web chat sessions as signed, expiring tokens, issued by ingress and checked by ingress
(messages) and notifier (the reply stream).

A visitor cannot choose their session: the server picks a random session id and signs it,
with the business and the expiry, using HMAC-SHA256 under `WEBCHAT_SECRET`. Holding the token
is what lets one post as that visitor and read their replies, so guessing or reusing another
visitor's session id no longer works.

    token = <session id> "." <expires, Unix seconds> "." <signature>
    signature = base64url(HMAC-SHA256(key, "webchat-session.v1|<business>|<session>|<expires>"))

The business is signed, not written out: it comes from the URL, so a token is only valid on
the business it was issued for. Every character is URL-safe (the EventSource carries it in
the path). The signing key is derived from the secret per purpose (`derive_key`), so the same
secret can also key other hashes (ingress's hash of a visitor's IP) without the two meeting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SESSION_BYTES = 16
_SHAPE = re.compile(r"([A-Za-z0-9_-]{16,64})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")
_PURPOSE = "webchat-session.v1"


class InvalidToken(Exception):
    """Malformed, forged, for another business, or expired: the request is refused (401)."""


def usable_secret(value: str | None) -> str | None:
    """A blank secret counts as unset: it must never sign or verify anything."""
    return value if value and value.strip() else None


def derive_key(secret: str, purpose: str) -> bytes:
    """One key per use of the secret, so a signature for one purpose proves nothing in
    another."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class WebSession:
    """What a valid token says: whose session it is and until when."""

    business_id: str
    session_id: str
    expires_at: datetime

    @property
    def customer(self) -> str:
        """The customer address the rest of the system knows the visitor by."""
        return f"web:{self.session_id}"


class WebChatTokens:
    """Issues and verifies session tokens; `now` is passed in (the service's clock)."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        if usable_secret(secret) is None:
            raise ValueError("a web chat secret must not be blank")
        if ttl <= timedelta(0):
            raise ValueError("a session must last some time")
        self._key = derive_key(secret, _PURPOSE)
        self.ttl = ttl

    @classmethod
    def from_secret(cls, secret: str | None, ttl_s: float) -> WebChatTokens | None:
        """None when the secret is unset or blank: web chat is then refused (503)."""
        usable = usable_secret(secret)
        return None if usable is None else cls(usable, timedelta(seconds=ttl_s))

    def _sign(self, business_id: str, session_id: str, expires: int) -> str:
        message = f"{business_id}|{session_id}|{expires}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, business_id: str, now: datetime) -> tuple[str, WebSession]:
        """A new session for one visitor of `business_id`: the token and what it says."""
        session_id = secrets.token_urlsafe(SESSION_BYTES)
        expires = int((now + self.ttl).timestamp())
        token = f"{session_id}.{expires}.{self._sign(business_id, session_id, expires)}"
        return token, WebSession(business_id, session_id, datetime.fromtimestamp(expires, UTC))

    def verify(self, token: str, business_id: str, now: datetime) -> WebSession:
        """The session a token proves, or `InvalidToken`. The signature is compared in
        constant time and checked before the expiry, so a forged token learns nothing."""
        shape = _SHAPE.fullmatch(token)
        if shape is None:
            raise InvalidToken("malformed session token")
        session_id, expires_text, signature = shape.groups()
        expected = self._sign(business_id, session_id, int(expires_text))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise InvalidToken("invalid session token")
        expires_at = datetime.fromtimestamp(int(expires_text), UTC)
        if now >= expires_at:
            raise InvalidToken("session expired")
        return WebSession(business_id, session_id, expires_at)
