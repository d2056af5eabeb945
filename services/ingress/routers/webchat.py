"""Web chat: the page on the business's site posts a visitor's message as JSON."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from libs.business.models import Business
from libs.business.service import get_profile
from libs.contracts.events import InboundMessageReceived
from services.ingress.deps import IngressDeps, ingress_deps
from services.ingress.webchat_page import render as webchat_page_html

router = APIRouter()


class WebChatMessage(BaseModel):
    session_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(min_length=1, max_length=2000)
    message_id: str | None = Field(default=None, max_length=64)


@router.get("/webchat/{business_id}", response_class=HTMLResponse)
async def webchat_page(business_id: str,
                       deps: Annotated[IngressDeps, Depends(ingress_deps)]) -> HTMLResponse:
    """The chat page itself (a business links to it or embeds it)."""
    async with deps.session_factory() as session:
        profile = await get_profile(session, business_id)
    if profile is None:
        raise HTTPException(404, "unknown business")
    return HTMLResponse(webchat_page_html(business_id, profile.name, profile.address,
                                          deps.config.webchat_replies_url))


@router.post("/webchat/{business_id}/messages", status_code=202)
async def webchat_message(business_id: str, message: WebChatMessage,
                          deps: Annotated[IngressDeps, Depends(ingress_deps)]) -> Response:
    async with deps.session_factory() as session:
        known = await session.get(Business, business_id)
    if known is None:
        raise HTTPException(404, "unknown business")
    message_id = message.message_id or uuid.uuid4().hex
    await deps.publish(InboundMessageReceived(
        channel="web", provider_message_id=message_id, customer=f"web:{message.session_id}",
        to=business_id, text=message.text, received_at=deps.clock.now()),
        business_id, "web", message.session_id, message_id)
    return Response(status_code=202)
