"""WhatsApp Cloud API: the verify handshake, and messages and statuses signed with
`X-Hub-Signature-256`."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from libs.business.service import business_id_by_channel
from libs.contracts.events import DeliveryStatus, InboundMessageReceived
from libs.runtime.web import RequestRoute
from services.ingress import whatsapp
from services.ingress.deps import IngressDeps, app_deps, ingress_deps, raw_body

log = logging.getLogger(__name__)
router = APIRouter(route_class=RequestRoute)


async def verified_payload(request: Request, deps: IngressDeps) -> Any:
    secret = deps.config.whatsapp_app_secret
    raw = await raw_body(request, secret, "WhatsApp")
    assert secret is not None  # raw_body answered 503 otherwise
    if not whatsapp.signature_valid(secret, raw, request.headers.get("X-Hub-Signature-256", "")):
        log.warning("rejected WhatsApp webhook with a bad signature")
        raise HTTPException(401, "invalid signature")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise HTTPException(400, f"malformed body: {exc}") from exc


@router.post("/webhooks/whatsapp")
async def whatsapp_webhook(request: Request) -> Response:
    """Messages and delivery reports. The webhooks take the request alone: FastAPI's
    dependency resolution cost more CPU than the rest of a webhook (docs/scaling.md,
    "Ingress"). Declared before the verify handshake on the same path, so that a webhook
    is matched by the first route with its path (the handshake's would match the path, then
    refuse the method)."""
    deps = app_deps(request)
    payload = await verified_payload(request, deps)
    try:
        messages, statuses = whatsapp.parse(payload)
    except whatsapp.PayloadError as exc:
        raise HTTPException(400, f"malformed body: {exc}") from exc
    numbers = {m.phone_number_id for m in messages} | {s.phone_number_id for s in statuses}
    owners: dict[str, str] = {}
    for number in numbers:
        owner = await business_id_by_channel(deps.session_factory, "whatsapp", number)
        if owner is None:
            raise HTTPException(404, "unknown WhatsApp phone number id")
        owners[number] = owner
    for msg in messages:
        await deps.publish(InboundMessageReceived(
            channel="whatsapp", provider_message_id=msg.message_id, customer=msg.sender,
            to=msg.phone_number_id, text=msg.text, received_at=deps.clock.now()),
            owners[msg.phone_number_id], "whatsapp", msg.message_id)
    for st in statuses:
        await deps.publish(DeliveryStatus(
            channel="whatsapp", provider_message_id=st.message_id, status=st.status,
            error_code=st.error_code, reported_at=st.at),
            owners[st.phone_number_id], "whatsapp-status", st.message_id, st.status)
    return Response(status_code=200)


@router.get("/webhooks/whatsapp")
async def whatsapp_verify(request: Request,
                          deps: Annotated[IngressDeps, Depends(ingress_deps)]) -> Response:
    q = request.query_params
    token = deps.config.whatsapp_verify_token
    if (token is not None and q.get("hub.mode") == "subscribe"
            and q.get("hub.verify_token") == token):
        return Response(q.get("hub.challenge", ""), media_type="text/plain")
    raise HTTPException(403, "verification failed")
