"""Web chat: the page on the business's site asks for a session, then posts a visitor's
messages as JSON with that session's token.

The server issues sessions (`POST /webchat/{business}/sessions`): a signed, expiring token
(`libs/webchat_tokens.py`), so nobody can write as, or read the replies of, a session they
were not given. Every request is rate limited per client IP, per session and per business
(`services/ingress/webchat_guard.py`), answering 429 with `Retry-After`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from libs.business.service import get_profile
from libs.contracts.events import InboundMessageReceived
from libs.runtime.web import RequestRoute, client_address
from services.ingress.deps import IngressDeps, ingress_deps
from services.ingress.webchat_guard import WebChatGuard, webchat_guard
from services.ingress.webchat_page import render as webchat_page_html

router = APIRouter(route_class=RequestRoute)
Deps = Annotated[IngressDeps, Depends(ingress_deps)]
Guard = Annotated[WebChatGuard, Depends(webchat_guard)]


class WebChatMessage(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    message_id: str | None = Field(default=None, max_length=64)
    session: str | None = Field(default=None, max_length=200,
                                description="the session token (or `Authorization: Bearer`)")


class IssuedSession(BaseModel):
    session: str = Field(description="the token: send it with every message, and in the "
                                     "reply stream's path")
    expires_at: datetime
    expires_in: int = Field(description="seconds until it must be renewed")


async def ip_limited(request: Request, guard: Guard) -> str:
    """Runs before the token is checked or anything looked up: a flood from one address
    costs a bucket lookup each."""
    guard.issuer()  # 503 first when web chat is not configured
    client = client_address(request)
    guard.limit(guard.per_ip, client, "address")
    return client


Client = Annotated[str, Depends(ip_limited)]


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _require_business(deps: IngressDeps, business_id: str) -> None:
    """404 for a business nobody imported; from the process's profile cache, so a message
    costs no query (`libs.business.service.ProfileCache`)."""
    async with deps.session_factory() as session:
        if await get_profile(session, business_id) is None:
            raise HTTPException(404, "unknown business")


@router.get("/webchat/{business_id}", response_class=HTMLResponse)
async def webchat_page(business_id: str, deps: Deps) -> HTMLResponse:
    """The chat page itself (a business links to it or embeds it)."""
    async with deps.session_factory() as session:
        profile = await get_profile(session, business_id)
    if profile is None:
        raise HTTPException(404, "unknown business")
    return HTMLResponse(webchat_page_html(business_id, profile.name, profile.address,
                                          deps.config.webchat_replies_url))


@router.post("/webchat/{business_id}/sessions", status_code=201)
async def webchat_session(business_id: str, client: Client, guard: Guard,
                          deps: Deps) -> IssuedSession:
    """A new visitor session for this business: a random id, signed with its expiry."""
    guard.limit(guard.per_business, business_id, "business's chat")
    await _require_business(deps, business_id)
    now = deps.clock.now()
    token, issued = guard.issuer().issue(business_id, now)
    return IssuedSession(session=token, expires_at=issued.expires_at,
                         expires_in=int((issued.expires_at - now).total_seconds()))


@router.post("/webchat/{business_id}/messages", status_code=202)
async def webchat_message(business_id: str, message: WebChatMessage, client: Client,
                          guard: Guard, deps: Deps,
                          authorization: Annotated[str | None, Header()] = None) -> Response:
    """One visitor message, as `web:<session id>`, with the keyed hash of their address
    (`origin`) so fsm can cap bookings per address without knowing it."""
    visitor = guard.verify(message.session or _bearer(authorization), business_id)
    guard.limit(guard.per_session, visitor.session_id, "session")
    guard.limit(guard.per_business, business_id, "business's chat")
    await _require_business(deps, business_id)
    message_id = message.message_id or uuid.uuid4().hex
    await deps.publish(InboundMessageReceived(
        channel="web", provider_message_id=message_id, customer=visitor.customer,
        to=business_id, text=message.text, received_at=deps.clock.now(),
        origin=guard.origin(client)),
        business_id, "web", visitor.session_id, message_id)
    return Response(status_code=202)
