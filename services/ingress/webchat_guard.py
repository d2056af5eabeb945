"""What stands between the internet and the web chat: session tokens, rate limits, and the
keyed hash of a visitor's IP that fsm counts bookings by (docs/architecture.md, "Web chat").

The client address is the ASGI scope's `client`. uvicorn rewrites it from `X-Forwarded-For`
only for connections from `FORWARDED_ALLOW_IPS` (default 127.0.0.1), so behind a TLS proxy
set that to the proxy's address; nothing here reads forwarding headers itself, so a client
cannot claim another address. IPv6 clients are keyed by their /64 (one household or host
gets a whole /64 and could otherwise rotate through it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from libs.clock import Clock
from libs.settings import Settings
from libs.webchat_tokens import InvalidToken, WebChatTokens, WebSession, derive_key
from services.ingress.limits import Buckets, Rate, retry_after

DAY_S = 24 * 3600


@dataclass(frozen=True)
class WebChatConfig:
    """The secret tokens are signed with (None: web chat answers 503), how long they last,
    and the rates each client IP, session and business may send at."""

    secret: str | None = None
    session_ttl_s: int = DAY_S
    per_ip: Rate = field(default_factory=lambda: Rate(per_minute=30, burst=20))
    per_session: Rate = field(default_factory=lambda: Rate(per_minute=12, burst=8))
    per_business: Rate = field(default_factory=lambda: Rate(per_minute=600, burst=200))

    @classmethod
    def from_settings(cls, settings: Settings) -> WebChatConfig:
        return cls(secret=settings.webchat_secret,
                   session_ttl_s=settings.webchat_session_ttl_s,
                   per_ip=Rate(settings.webchat_ip_per_minute, settings.webchat_ip_burst),
                   per_session=Rate(settings.webchat_session_per_minute,
                                    settings.webchat_session_burst),
                   per_business=Rate(settings.webchat_business_per_minute,
                                     settings.webchat_business_burst))


class WebChatGuard:
    """One per ingress app: the token issuer and verifier, and the buckets (in this process
    only: each ingress replica limits on its own)."""

    def __init__(self, config: WebChatConfig, clock: Clock) -> None:
        self.clock = clock
        self.tokens = WebChatTokens.from_secret(config.secret, config.session_ttl_s)
        self._origin_key = (derive_key(config.secret or "", "webchat-origin.v1")
                            if self.tokens is not None else b"")

        def seconds() -> float:
            return clock.now().timestamp()

        self.per_ip = Buckets(config.per_ip, seconds)
        self.per_session = Buckets(config.per_session, seconds)
        self.per_business = Buckets(config.per_business, seconds)

    def issuer(self) -> WebChatTokens:
        if self.tokens is None:
            raise HTTPException(503, "web chat is not configured (WEBCHAT_SECRET)")
        return self.tokens

    def verify(self, token: str | None, business_id: str) -> WebSession:
        """The visitor's session, or 401: no token, a forged one, another business's, or
        an expired one (the page then asks for a new session)."""
        tokens = self.issuer()
        if not token:
            raise HTTPException(401, "a web chat session token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            return tokens.verify(token, business_id, self.clock.now())
        except InvalidToken as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc

    def origin(self, client: str) -> str:
        """A keyed hash of the client's address: fsm counts bookings per origin without ever
        holding the address, and without the key nobody can tell which address it was."""
        digest = hmac.new(self._origin_key, client.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()

    @staticmethod
    def limit(buckets: Buckets, key: str, what: str) -> None:
        """429 with `Retry-After` when `key`'s bucket is empty."""
        wait = buckets.take(key)
        if wait > 0:
            raise HTTPException(429, f"too many requests from this {what}; slow down",
                                headers={"Retry-After": retry_after(wait)})


async def webchat_guard(request: Request) -> WebChatGuard:
    """The app's guard, made on first use from its deps (config and clock)."""
    state = request.app.state
    guard: WebChatGuard | None = getattr(state, "webchat_guard", None)
    if guard is None:
        deps = state.ingress
        guard = state.webchat_guard = WebChatGuard(deps.config.webchat, deps.clock)
    return guard
