"""The web chat's reply stream: what notifier delivered to one visitor, as server-sent
events (the page's EventSource) or as JSON (polling clients, the terminal chat).

Replies are read from the message log, in send order (`seq`), once delivered; a
reconnecting page resumes after the last event id it saw, so nothing is missed or shown
twice. A reply held back by the opt-out gate is never shown.

The path carries the session token ingress issued (`libs/webchat_tokens.py`), not a session
id: an EventSource cannot send headers. Only its holder reads the replies; a forged, expired
or other business's token is 401, and an open stream ends when its token expires (the page
then renews). Without `WEBCHAT_SECRET` the stream answers 503.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock, SystemClock
from libs.runtime.web import MAX_BODY_BYTES, NO_OPENTELEMETRY, BodyLimit
from libs.webchat_tokens import InvalidToken, WebChatTokens, WebSession
from services.notifier.models import MessageLog

router = APIRouter()
POLL_S = 0.5


class WebReply(BaseModel):
    id: int
    text: str


async def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.notifier_sessions
    return sessions


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]


NOT_SHOWN = ("suppressed", "failed", "dead")
"""Replies never delivered (the visitor opted out, or it was given up on)."""


async def replies_after(sessions: async_sessionmaker[AsyncSession], business_id: str,
                        session_id: str, after: int) -> list[WebReply]:
    """Delivered replies after `after`, in send order. It stops before the first one still
    `sending` (its gates are being checked): the page resumes after the last id it saw, so
    a later reply shown first would hide it for good."""
    async with sessions() as session:
        rows = (await session.execute(
            select(MessageLog.seq, MessageLog.body, MessageLog.status)
            .where(MessageLog.business_id == business_id,
                   MessageLog.to == f"web:{session_id}", MessageLog.audience == "customer",
                   MessageLog.seq > after, MessageLog.status.not_in(NOT_SHOWN))
            .order_by(MessageLog.seq).limit(100))).all()
    replies = []
    for seq, body, status in rows:
        if status == "sending":
            break
        replies.append(WebReply(id=seq, text=body))
    return replies


async def verified(business_id: str, token: str, request: Request) -> WebSession:
    """The visitor whose token is in the path, or 401 (503 when web chat has no secret)."""
    tokens: WebChatTokens | None = request.app.state.webchat_tokens
    if tokens is None:
        raise HTTPException(503, "web chat is not configured (WEBCHAT_SECRET)")
    clock: Clock = request.app.state.webchat_clock
    try:
        return tokens.verify(token, business_id, clock.now())
    except InvalidToken as exc:
        raise HTTPException(401, str(exc)) from exc


Visitor = Annotated[WebSession, Depends(verified)]


@router.get("/webchat/{business_id}/sessions/{token}/messages")
async def web_replies(business_id: str, visitor: Visitor, sessions: Sessions,
                      after: Annotated[int, Query(ge=0)] = 0) -> list[WebReply]:
    return await replies_after(sessions, business_id, visitor.session_id, after)


@router.get("/webchat/{business_id}/sessions/{token}/events")
async def web_reply_events(
        business_id: str, visitor: Visitor, request: Request, sessions: Sessions,
        last_event_id: Annotated[int, Header(ge=0)] = 0,
        after: Annotated[int, Query(ge=0)] = 0) -> StreamingResponse:
    clock: Clock = request.app.state.webchat_clock

    async def stream() -> AsyncIterator[str]:
        seen = max(after, last_event_id)
        yield "retry: 2000\n\n"
        while not await request.is_disconnected() and clock.now() < visitor.expires_at:
            for reply in await replies_after(sessions, business_id, visitor.session_id, seen):
                seen = reply.id
                yield f"id: {reply.id}\ndata: {json.dumps({'text': reply.text})}\n\n"
            await asyncio.sleep(POLL_S)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def create_app(sessions: async_sessionmaker[AsyncSession], origins: Sequence[str] = (),
               tokens: WebChatTokens | None = None, clock: Clock | None = None) -> FastAPI:
    """`origins`: where web chat pages live when they are not served from this origin;
    `tokens`: verifies the session tokens ingress issues (None: the stream answers 503)."""
    app = FastAPI(title="Receptionist web chat replies", version="1",
                  telemetry=NO_OPENTELEMETRY)
    app.state.notifier_sessions = sessions
    app.state.webchat_tokens = tokens
    app.state.webchat_clock = clock or SystemClock()
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(origins),
                           allow_methods=["GET"], allow_headers=["Last-Event-ID"])
    app.include_router(router)
    return app
