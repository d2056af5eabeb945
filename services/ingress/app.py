"""ingress: verify the provider's signature, normalize, publish with a confirm, answer.

It decides nothing. A message the broker did not confirm is answered 503, so the provider
retries and nothing is lost; a rejected request publishes nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass

import stripe
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from libs.bus.transport import PublishError, Transport
from libs.business.models import Business
from libs.business.service import find_business_id_by_channel
from libs.clock import Clock
from libs.contracts.envelope import deterministic_event_id
from libs.contracts.events import (
    DeliveryStatus,
    Event,
    InboundMessageReceived,
    StripeEventReceived,
)
from libs.contracts.registry import make_envelope
from libs.logs import mask_phone
from services.ingress import whatsapp

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_BODY_BYTES = 64 * 1024
WHATSAPP_STATUSES = {"sent", "delivered", "read", "failed"}
STRIPE_TOLERANCE_S = 300
UNKNOWN_BUSINESS = "_unknown"  # an event without our metadata: payments logs and ignores it


@dataclass
class IngressDeps:
    transport: Transport
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    public_base_url: str
    twilio_auth_token: str | None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    stripe_webhook_secret: str | None = None


class WebChatMessage(BaseModel):
    session_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(min_length=1, max_length=2000)
    message_id: str | None = Field(default=None, max_length=64)


def create_app(deps: IngressDeps) -> FastAPI:
    app = FastAPI(title="Receptionist ingress", version="1")

    async def publish(event: Event, business_id: str, *id_parts: str) -> bool:
        """True once the broker confirmed; False means answer 503 so the provider retries."""
        envelope = make_envelope(event, business_id=business_id, occurred_at=deps.clock.now(),
                                 event_id=deterministic_event_id(*id_parts))
        try:
            await deps.transport.publish(envelope.to_json(), envelope.type,
                                         message_id=str(envelope.event_id))
        except PublishError as exc:
            log.error("%s %s not published; the provider will retry: %s", envelope.type,
                      envelope.event_id, exc)
            return False
        return True

    def unavailable() -> Response:
        return Response("broker unavailable, retry later", status_code=503)

    async def body_of(request: Request, secret: str | None, provider: str) -> bytes | Response:
        """The raw body (signatures are over it), or the answer when this provider is not
        configured or the body is too large to be one of its webhooks."""
        if secret is None:
            return Response(f"{provider} is not configured", status_code=503)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return Response("payload too large", status_code=413)
        return raw

    # --- Twilio SMS ------------------------------------------------------------------------

    @app.post("/webhooks/twilio/sms")
    async def twilio_sms(request: Request) -> Response:
        token = deps.twilio_auth_token
        raw = await body_of(request, token, "Twilio")
        if isinstance(raw, Response):
            return raw
        assert token is not None  # body_of answered 503 otherwise
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = deps.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(token).validate(url, form, signature):
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
        if not await publish(inbound, business_id, "twilio", form["MessageSid"]):
            return unavailable()
        return Response(EMPTY_TWIML, media_type="text/xml")

    # --- WhatsApp Cloud API ----------------------------------------------------------------

    @app.get("/webhooks/whatsapp")
    async def whatsapp_verify(request: Request) -> Response:
        q = request.query_params
        token = deps.whatsapp_verify_token
        if (token is not None and q.get("hub.mode") == "subscribe"
                and q.get("hub.verify_token") == token):
            return Response(q.get("hub.challenge", ""), media_type="text/plain")
        return Response("verification failed", status_code=403)

    @app.post("/webhooks/whatsapp")
    async def whatsapp_webhook(request: Request) -> Response:
        secret = deps.whatsapp_app_secret
        raw = await body_of(request, secret, "WhatsApp")
        if isinstance(raw, Response):
            return raw
        assert secret is not None  # body_of answered 503 otherwise
        header = request.headers.get("X-Hub-Signature-256", "")
        if not whatsapp.signature_valid(secret, raw, header):
            log.warning("rejected WhatsApp webhook with a bad signature")
            return Response("invalid signature", status_code=401)
        try:
            messages, statuses = whatsapp.parse(json.loads(raw))
        except (ValueError, whatsapp.PayloadError) as exc:
            return Response(f"malformed body: {exc}", status_code=400)
        async with deps.session_factory() as session:
            owners = {n: await find_business_id_by_channel(session, "whatsapp", n)
                      for n in {m.phone_number_id for m in messages}
                      | {s.phone_number_id for s in statuses}}
        if any(owner is None for owner in owners.values()):
            return Response("unknown WhatsApp phone number id", status_code=404)
        for msg in messages:
            inbound = InboundMessageReceived(
                channel="whatsapp", provider_message_id=msg.message_id, customer=msg.sender,
                to=msg.phone_number_id, text=msg.text, received_at=deps.clock.now())
            if not await publish(inbound, owners[msg.phone_number_id] or "", "whatsapp",
                                 msg.message_id):
                return unavailable()
        for st in statuses:
            if st.status not in WHATSAPP_STATUSES:
                continue
            status = DeliveryStatus(channel="whatsapp", provider_message_id=st.message_id,
                                    status=st.status, error_code=st.error_code,  # type: ignore[arg-type]
                                    reported_at=st.at)
            if not await publish(status, owners[st.phone_number_id] or "", "whatsapp-status",
                                 st.message_id, st.status):
                return unavailable()
        return Response(status_code=200)

    # --- Stripe ----------------------------------------------------------------------------

    @app.post("/webhooks/stripe")
    async def stripe_webhook(request: Request) -> Response:
        secret = deps.stripe_webhook_secret
        raw = await body_of(request, secret, "Stripe")
        if isinstance(raw, Response):
            return raw
        assert secret is not None  # body_of answered 503 otherwise
        try:  # the signature is over the raw body; a stale timestamp is refused too
            event = stripe.Webhook.construct_event(
                raw, request.headers.get("Stripe-Signature", ""), secret,
                tolerance=STRIPE_TOLERANCE_S)
        except stripe.SignatureVerificationError:
            log.warning("rejected Stripe webhook with a bad or stale signature")
            return Response("invalid signature", status_code=400)
        except ValueError as exc:
            return Response(f"malformed body: {exc}", status_code=400)
        data = json.loads(raw)
        obj = (data.get("data") or {}).get("object") or {}
        if not str(data.get("id", "")).startswith("evt_") or not isinstance(obj, dict):
            return Response("not a Stripe event", status_code=400)
        business_id = str((obj.get("metadata") or {}).get("business_id") or UNKNOWN_BUSINESS)
        received = StripeEventReceived(
            stripe_event_id=event.id, stripe_type=event.type, created=int(event.created),
            livemode=bool(event.livemode), data_object=obj)
        if not await publish(received, business_id, "stripe", event.id):
            return unavailable()
        return Response(status_code=200)

    # --- web chat --------------------------------------------------------------------------

    @app.post("/webchat/{business_id}/messages", status_code=202)
    async def webchat_message(business_id: str, message: WebChatMessage) -> Response:
        async with deps.session_factory() as session:
            known = await session.get(Business, business_id)
        if known is None:
            return Response("unknown business", status_code=404)
        message_id = message.message_id or uuid.uuid4().hex
        inbound = InboundMessageReceived(
            channel="web", provider_message_id=message_id,
            customer=f"web:{message.session_id}", to=business_id, text=message.text,
            received_at=deps.clock.now())
        if not await publish(inbound, business_id, "web", message.session_id, message_id):
            return unavailable()
        return Response(status_code=202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
