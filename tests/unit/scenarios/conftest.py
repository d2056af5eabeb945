"""Fixtures for the scenario runner tests: small valid business profiles in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

PROFILE = """\
id: {id}
name: {name}
address: "1 Main St, New York, NY 10012"
phone: "{phone}"
owner_phone: "{owner}"
timezone: America/New_York
currency: usd
hours:
  tue: [["09:00", "19:00"]]
services:
  - {{name: Haircut, duration_minutes: 45, price: "45.00"}}
"""


@pytest.fixture
def businesses(tmp_path: Path) -> Path:
    """salon (owner +12125550199) and barber (owner +13125550199)."""
    folder = tmp_path / "businesses"
    folder.mkdir()
    for business_id, name, phone, owner in (
            ("salon", "Test Salon", "+12125550100", "+12125550199"),
            ("barber", "Test Barber", "+13125550100", "+13125550199")):
        (folder / f"{business_id}.yaml").write_text(
            PROFILE.format(id=business_id, name=name, phone=phone, owner=owner))
    return folder
