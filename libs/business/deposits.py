"""The deposit rule (docs/business-profile.md, "deposits"): pure, shared by fsm and payments.

fsm states the amount in its proposal and holds the booking; payments charges it. Both must
compute the same number, so the rule lives once here, beside the profile it reads.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from libs.business.profile import WEEKDAYS, BusinessProfile, Service


def deposit_for(profile: BusinessProfile, service: Service, start: datetime) -> Decimal:
    """The largest of the service's deposit and every rule that applies to this start.

    Rules are judged by the *start*, in the business's zone; zero means no deposit.
    """
    local = start.astimezone(profile.tz)
    day = WEEKDAYS[local.weekday()]
    amounts = [service.deposit]
    prime = profile.deposits.prime_time
    if prime is not None:
        for window in prime.windows:
            if day in window.days and window.start <= local.time() < window.end:
                amounts.append(prime.amount)
    weekend = profile.deposits.weekend
    if weekend is not None and day in weekend.days:
        amounts.append(weekend.amount)
    return max(amounts).quantize(Decimal("0.01"))
