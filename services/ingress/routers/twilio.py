"""Twilio SMS: `X-Twilio-Signature` checked with Twilio's `RequestValidator` against the
public URL Twilio called, for inbound messages and for the status callbacks of the messages
notifier sends (`StatusCallback` = `PUBLIC_BASE_URL/webhooks/twilio/status`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response
from twilio.request_validator import RequestValidator

from libs.business.service import business_id_by_channel
from libs.contracts.events import DeliveryStatus, InboundMessageReceived
from libs.contracts.vocabulary import DeliveryState
from libs.logs import mask_phone
from libs.runtime.web import RequestRoute
from services.ingress.deps import IngressDeps, app_deps, raw_body

log = logging.getLogger(__name__)
router = APIRouter(route_class=RequestRoute)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

TWILIO_STATUSES: dict[str, DeliveryState] = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "read",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}
"""Twilio's message statuses as ours; others (receiving, received: inbound) are ignored."""


async def verified_form(request: Request, deps: IngressDeps) -> dict[str, str]:
    token = deps.config.twilio_auth_token
    await raw_body(request, token, "Twilio")
    assert token is not None  # raw_body answered 503 otherwise
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = deps.config.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not RequestValidator(token).validate(url, form,
                                            request.headers.get("X-Twilio-Signature", "")):
        log.warning("rejected Twilio webhook with a bad signature")
        raise HTTPException(403, "invalid signature")
    return form


@router.post("/webhooks/twilio/sms")
async def twilio_sms(request: Request) -> Response:
    """An inbound SMS. The webhooks take the request alone: FastAPI's dependency resolution
    cost more CPU than the rest of a webhook (docs/scaling.md, "Ingress")."""
    deps = app_deps(request)
    form = await verified_form(request, deps)
    missing = [k for k in ("MessageSid", "From", "To") if not form.get(k)]
    if missing:
        raise HTTPException(400, f"missing fields: {', '.join(missing)}")
    business_id = await business_id_by_channel(deps.session_factory, "sms", form["To"])
    if business_id is None:
        log.warning("SMS to unknown number %s", mask_phone(form["To"]))
        raise HTTPException(404, "unknown business number")
    await deps.publish(InboundMessageReceived(
        channel="sms", provider_message_id=form["MessageSid"], customer=form["From"],
        to=form["To"], text=form.get("Body", ""), received_at=deps.clock.now()),
        business_id, "twilio", form["MessageSid"])
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/webhooks/twilio/status")
async def twilio_status(request: Request) -> Response:
    """A delivery report on a message notifier sent, from the business's number (`From`)."""
    deps = app_deps(request)
    form = await verified_form(request, deps)
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    reported = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not reported or not form.get("From"):
        raise HTTPException(400, "missing fields: MessageSid, MessageStatus and From")
    status = TWILIO_STATUSES.get(reported)
    if status is None:
        return Response(status_code=204)  # a status we do not track
    business_id = await business_id_by_channel(deps.session_factory, "sms", form["From"])
    if business_id is None:
        log.warning("SMS status for unknown number %s", mask_phone(form["From"]))
        raise HTTPException(404, "unknown business number")
    await deps.publish(DeliveryStatus(
        channel="sms", provider_message_id=sid, status=status,
        error_code=form.get("ErrorCode") or None, reported_at=deps.clock.now()),
        business_id, "twilio-status", sid, reported)
    return Response(status_code=204)
