"""payments, defined once: deposits through Stripe (or the offline gateway), hold timers,
webhook events applied once.

`PAYMENTS_GATEWAY=stripe` (the default) needs `STRIPE_API_KEY`; `offline` serves no real
money and is for demos only.
"""

from __future__ import annotations

from libs.runtime.definition import ServiceDefinition, Wiring
from services.payments.adapters.base import PaymentGateway
from services.payments.adapters.offline import OfflineGateway
from services.payments.handlers import HANDLERS, TIMERS, PaymentsDeps, prune_webhook_events


class GatewayNotConfigured(SystemExit):
    """payments cannot start: Stripe is chosen but has no key."""


def gateway_for(wiring: Wiring) -> PaymentGateway:
    settings = wiring.settings
    if settings.payments_gateway == "offline":
        return OfflineGateway(settings.public_base_url)
    if not settings.stripe_api_key:
        raise GatewayNotConfigured(
            "payments: STRIPE_API_KEY is not set (or set PAYMENTS_GATEWAY=offline)")
    from services.payments.adapters.stripe_gateway import StripeGateway

    base = settings.public_base_url.rstrip("/")
    return StripeGateway(settings.stripe_api_key, success_url=f"{base}/paid",
                         cancel_url=f"{base}/not-paid", clock=wiring.clock.now)


def payments_deps(wiring: Wiring) -> PaymentsDeps:
    return PaymentsDeps(gateway=gateway_for(wiring))


DEFINITION = ServiceDefinition(name="payments", deps=payments_deps, handlers=HANDLERS,
                               timers=TIMERS, prune=prune_webhook_events)
