"""The deposit rule: the largest of the service deposit, prime time (judged by the local
start) and weekend days; zero means none."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from libs.business.deposits import deposit_for
from libs.business.profile import BusinessProfile, load_profile
from tests.helpers import FIXTURE_BUSINESSES

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def salon() -> BusinessProfile:
    return load_profile(FIXTURE_BUSINESSES / "salon.yaml")


def at(salon: BusinessProfile, service: str, local: datetime) -> Decimal:
    found = salon.service_by_name(service)
    assert found is not None
    return deposit_for(salon, found, local.replace(tzinfo=NY))


@pytest.mark.parametrize(("service", "local", "expected"), [
    ("Haircut", datetime(2026, 12, 2, 15, 0), "0.00"),      # Wed afternoon: none
    ("Haircut", datetime(2026, 12, 4, 17, 0), "15.00"),     # Fri 5 PM: prime time starts
    ("Haircut", datetime(2026, 12, 4, 16, 45), "0.00"),     # ends in prime time: start rules
    ("Haircut", datetime(2026, 12, 4, 19, 0), "0.00"),      # window is [17:00, 19:00)
    ("Haircut", datetime(2026, 12, 2, 17, 30), "0.00"),     # Wed is not a prime-time day
    ("Haircut", datetime(2026, 12, 5, 10, 0), "15.00"),     # Saturday
    ("Facial", datetime(2026, 12, 2, 10, 0), "20.00"),      # the service's own deposit
    ("Facial", datetime(2026, 12, 5, 10, 0), "20.00"),      # max(20, weekend 15)
    ("Color", datetime(2026, 12, 4, 17, 0), "40.00"),       # max(40, prime 15)
    ("Beard Trim", datetime(2026, 12, 3, 18, 45), "15.00"),  # Thu prime time
])
def test_the_largest_applicable_amount(salon: BusinessProfile, service: str, local: datetime,
                                       expected: str) -> None:
    assert at(salon, service, local) == Decimal(expected)


def test_prime_time_is_judged_in_the_business_zone(salon: BusinessProfile) -> None:
    haircut = salon.service_by_name("Haircut")
    assert haircut is not None
    utc_2200 = datetime(2026, 12, 4, 22, 0, tzinfo=ZoneInfo("UTC"))  # 5 PM in New York
    assert deposit_for(salon, haircut, utc_2200) == Decimal("15.00")


def test_a_business_without_rules_asks_nothing() -> None:
    clinic = load_profile(FIXTURE_BUSINESSES / "clinic.yaml")
    follow_up = clinic.service_by_name("Follow-up Visit")
    assert follow_up is not None
    assert deposit_for(clinic, follow_up, datetime(2026, 12, 5, 10, tzinfo=NY)) == Decimal("0.00")
