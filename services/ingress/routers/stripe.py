"""Stripe: `Stripe-Signature` checked with Stripe's own `construct_event` on the raw body
(a stale timestamp is refused too)."""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated

import stripe
from fastapi import APIRouter, Depends, HTTPException, Request, Response

from libs.contracts.events import StripeEventReceived
from libs.runtime.web import RequestRoute
from services.ingress.deps import IngressDeps, clean, clean_json, ingress_deps, raw_body

log = logging.getLogger(__name__)
router = APIRouter(route_class=RequestRoute)

STRIPE_TOLERANCE_S = 300
UNKNOWN_BUSINESS = "_unknown"  # an event without our metadata: payments logs and ignores it


async def verified_event(request: Request, deps: Annotated[IngressDeps, Depends(ingress_deps)]
                         ) -> StripeEventReceived:
    secret = deps.config.stripe_webhook_secret
    raw = await raw_body(request, secret, "Stripe")
    assert secret is not None  # raw_body answered 503 otherwise
    try:
        event = stripe.Webhook.construct_event(
            raw, request.headers.get("Stripe-Signature", ""), secret,
            tolerance=STRIPE_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        log.warning("rejected Stripe webhook with a bad or stale signature")
        raise HTTPException(400, "invalid signature") from exc
    except Exception as exc:  # a signed body that is not a Stripe event (a list, ...)
        raise HTTPException(400, "malformed body") from exc
    if _signed_in_the_future(request.headers.get("Stripe-Signature", ""), time.time()):
        log.warning("rejected Stripe webhook signed in the future")
        raise HTTPException(400, "invalid signature")
    data = json.loads(raw)
    obj = (data.get("data") or {}).get("object") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not str(data.get("id", "")).startswith("evt_") \
            or not isinstance(obj, dict):
        raise HTTPException(400, "not a Stripe event")
    return StripeEventReceived(stripe_event_id=clean(event.id), stripe_type=clean(event.type),
                               created=int(event.created), livemode=bool(event.livemode),
                               data_object=clean_json(obj))


def _signed_in_the_future(header: str, now: float) -> bool:
    """Stripe's library refuses old timestamps only; one from the future is as suspect.
    `now` is the wall clock's, as the library's: a signature's age is the real world's,
    not the business clock's (which a scenario simulates, days away from it)."""
    stamps = [part.removeprefix("t=") for part in header.split(",") if part.startswith("t=")]
    return any(not t.isdigit() or int(t) > now + STRIPE_TOLERANCE_S for t in stamps)


@router.post("/webhooks/stripe")
async def stripe_webhook(event: Annotated[StripeEventReceived, Depends(verified_event)],
                         deps: Annotated[IngressDeps, Depends(ingress_deps)]) -> Response:
    metadata = event.data_object.get("metadata") or {}
    business_id = str(metadata.get("business_id") or UNKNOWN_BUSINESS)
    await deps.publish(event, business_id, "stripe", event.stripe_event_id)
    return Response(status_code=200)
