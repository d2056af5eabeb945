"""`python -m services.payments`: deposits as their own process.

`PAYMENTS_GATEWAY=stripe` (the default) needs `STRIPE_API_KEY`; `offline` serves no real
money and is for demos only.
"""

from __future__ import annotations

from libs.runtime import Runtime, ServiceParts, run_consumer_service
from services.payments.adapters.base import PaymentGateway
from services.payments.adapters.offline import OfflineGateway
from services.payments.handlers import Payments


def gateway_for(rt: Runtime) -> PaymentGateway:
    settings = rt.settings
    if settings.payments_gateway == "offline":
        return OfflineGateway(settings.public_base_url)
    if not settings.stripe_api_key:
        raise SystemExit("payments: STRIPE_API_KEY is not set (or set PAYMENTS_GATEWAY=offline)")
    from services.payments.adapters.stripe_gateway import StripeGateway

    base = settings.public_base_url.rstrip("/")
    return StripeGateway(settings.stripe_api_key, success_url=f"{base}/paid",
                         cancel_url=f"{base}/not-paid", clock=rt.clock.now)


def main() -> None:
    def build(rt: Runtime) -> ServiceParts:
        payments = Payments(gateway_for(rt))
        return ServiceParts(payments.handlers(), timers=payments.on_hold_expired)

    run_consumer_service("payments", build)


if __name__ == "__main__":
    main()
