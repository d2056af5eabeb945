"""payments, defined once: deposits through Stripe (or the offline gateway), hold timers,
webhook events applied once.

`PAYMENTS_GATEWAY=stripe` (the default) needs `STRIPE_API_KEY`; `offline` serves no real
money and is for demos only.
"""

from __future__ import annotations

from fastapi import FastAPI

from libs.runtime.definition import ServiceDefinition, Wiring
from libs.runtime.web import MAX_BODY_BYTES, NO_OPENTELEMETRY, BodyLimit
from services.payments.adapters.base import PaymentGateway
from services.payments.adapters.offline import OfflineGateway, checkout_page_router
from services.payments.handlers import HANDLERS, TIMERS, PaymentsDeps, prune_webhook_events


class GatewayNotConfigured(SystemExit):
    """payments cannot start: Stripe is chosen but has no key."""


def gateway_for(wiring: Wiring) -> PaymentGateway:
    settings = wiring.settings
    if settings.payments_gateway == "offline":
        secret = settings.stripe_webhook_secret
        if not secret or not secret.strip():
            raise GatewayNotConfigured(
                "payments: the offline gateway's checkout page signs its webhooks with "
                "STRIPE_WEBHOOK_SECRET, which is not set")
        return OfflineGateway(settings.public_base_url, webhook_secret=secret)
    if not settings.stripe_api_key:
        raise GatewayNotConfigured(
            "payments: STRIPE_API_KEY is not set (or set PAYMENTS_GATEWAY=offline)")
    from services.payments.adapters.stripe_gateway import StripeGateway

    base = settings.public_base_url.rstrip("/")
    return StripeGateway(settings.stripe_api_key, success_url=f"{base}/paid",
                         cancel_url=f"{base}/not-paid", clock=wiring.clock.now)


def payments_deps(wiring: Wiring) -> PaymentsDeps:
    return PaymentsDeps(gateway=gateway_for(wiring))


def payments_app(wiring: Wiring, deps: PaymentsDeps) -> FastAPI | None:
    """With the offline gateway, its checkout page (Pay posts a signed webhook to ingress at
    PUBLIC_BASE_URL); Stripe serves its own pages. A composition that serves the page
    itself (the demo) hands in a gateway without a secret."""
    gateway = deps.gateway
    if not isinstance(gateway, OfflineGateway) or gateway.webhook_secret is None:
        return None
    app = FastAPI(title="Receptionist offline checkout", version="1",
                  telemetry=NO_OPENTELEMETRY)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.include_router(checkout_page_router(gateway, gateway.webhook_secret,
                                            wiring.settings.public_base_url))
    return app


DEFINITION = ServiceDefinition(name="payments", deps=payments_deps, handlers=HANDLERS,
                               timers=TIMERS, http=payments_app, prune=prune_webhook_events)
