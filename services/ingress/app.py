"""ingress: verify the provider's signature, normalize, publish with a confirm, answer.

It decides nothing. A message the broker did not confirm is answered 503, so the provider
retries and nothing is lost; a rejected request publishes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from libs.bus.transport import PublishError, Transport
from libs.business.service import find_business_id_by_channel
from libs.clock import Clock
from libs.contracts.envelope import deterministic_event_id
from libs.contracts.events import InboundMessageReceived
from libs.contracts.registry import make_envelope
from libs.logs import mask_phone

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_BODY_BYTES = 64 * 1024


@dataclass
class IngressDeps:
    transport: Transport
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    public_base_url: str
    twilio_auth_token: str | None


def create_app(deps: IngressDeps) -> FastAPI:
    app = FastAPI(title="Receptionist ingress", version="1")

    async def publish(inbound: InboundMessageReceived, business_id: str, event_id_parts: tuple[
            str, ...]) -> Response | None:
        envelope = make_envelope(inbound, business_id=business_id,
                                 occurred_at=deps.clock.now(),
                                 event_id=deterministic_event_id(*event_id_parts))
        try:
            await deps.transport.publish(envelope.to_json(), envelope.type,
                                         message_id=str(envelope.event_id))
        except PublishError as exc:
            log.error("inbound %s not published, asking the provider to retry: %s",
                      envelope.event_id, exc)
            return Response("broker unavailable", status_code=503)
        return None

    @app.post("/webhooks/twilio/sms")
    async def twilio_sms(request: Request) -> Response:
        if deps.twilio_auth_token is None:
            return Response("Twilio is not configured", status_code=503)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return Response("payload too large", status_code=413)
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = deps.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(deps.twilio_auth_token).validate(url, form, signature):
            log.warning("rejected Twilio webhook with a bad signature")
            return Response("invalid signature", status_code=403)
        missing = [k for k in ("MessageSid", "From", "To") if not form.get(k)]
        if missing:
            return Response(f"missing fields: {', '.join(missing)}", status_code=400)
        async with deps.session_factory() as session:
            business_id = await find_business_id_by_channel(session, "sms", form["To"])
        if business_id is None:
            log.warning("SMS to unknown number %s", mask_phone(form["To"]))
            return Response("unknown business number", status_code=404)
        inbound = InboundMessageReceived(
            channel="sms", provider_message_id=form["MessageSid"], customer=form["From"],
            to=form["To"], text=form.get("Body", ""), received_at=deps.clock.now())
        failed = await publish(inbound, business_id, ("twilio", form["MessageSid"]))
        if failed is not None:
            return failed
        return Response(EMPTY_TWIML, media_type="text/xml")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
