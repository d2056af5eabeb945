"""The example businesses the machine's tests run against."""

from __future__ import annotations

import pytest

from libs.business.profile import BusinessProfile, load_profile
from tests.helpers import FIXTURE_BUSINESSES


@pytest.fixture(scope="module")
def salon() -> BusinessProfile:
    return load_profile(FIXTURE_BUSINESSES / "salon.yaml")


@pytest.fixture(scope="module")
def clinic() -> BusinessProfile:
    return load_profile(FIXTURE_BUSINESSES / "clinic.yaml")
