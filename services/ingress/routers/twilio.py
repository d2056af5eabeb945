"""Twilio SMS: `X-Twilio-Signature` checked with Twilio's `RequestValidator` against the
public URL Twilio called."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.request_validator import RequestValidator

from libs.business.service import find_business_id_by_channel
from libs.contracts.events import InboundMessageReceived
from libs.logs import mask_phone
from services.ingress.deps import IngressDeps, ingress_deps, raw_body

log = logging.getLogger(__name__)
router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def verified_form(request: Request,
                        deps: Annotated[IngressDeps, Depends(ingress_deps)]) -> dict[str, str]:
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
async def twilio_sms(form: Annotated[dict[str, str], Depends(verified_form)],
                     deps: Annotated[IngressDeps, Depends(ingress_deps)]) -> Response:
    missing = [k for k in ("MessageSid", "From", "To") if not form.get(k)]
    if missing:
        raise HTTPException(400, f"missing fields: {', '.join(missing)}")
    async with deps.session_factory() as session:
        business_id = await find_business_id_by_channel(session, "sms", form["To"])
    if business_id is None:
        log.warning("SMS to unknown number %s", mask_phone(form["To"]))
        raise HTTPException(404, "unknown business number")
    await deps.publish(InboundMessageReceived(
        channel="sms", provider_message_id=form["MessageSid"], customer=form["From"],
        to=form["To"], text=form.get("Body", ""), received_at=deps.clock.now()),
        business_id, "twilio", form["MessageSid"])
    return Response(EMPTY_TWIML, media_type="text/xml")
