"""`business import` against a real PostgreSQL: create, update in place, read back, refuse."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.models import Business, BusinessService
from libs.business.profile import ProfileError, load_profile, parse_profile
from libs.business.service import (
    business_id_by_channel,
    get_profile,
    import_file,
    import_profile,
)
from tests.helpers import FIXTURE_BUSINESSES as FIXTURES

pytestmark = pytest.mark.integration

NAMES = ("salon", "clinic", "barber")

Sessions = async_sessionmaker[AsyncSession]


def _fixture_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text("utf-8"))
    return data


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


async def _counts(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as s:
        businesses = await s.scalar(select(func.count()).select_from(Business))
        services = await s.scalar(select(func.count()).select_from(BusinessService))
    return businesses or 0, services or 0


async def _service_rows(sessions: Sessions, business_id: str) -> list[tuple[str, int]]:
    async with sessions() as s:
        rows = await s.execute(select(BusinessService.name, BusinessService.duration_minutes)
                               .where(BusinessService.business_id == business_id)
                               .order_by(BusinessService.position))
        return [(name, minutes) for name, minutes in rows]


async def test_import_creates_then_updates_in_place(session_factory: Sessions,
                                                     tmp_path: Path) -> None:
    for name in NAMES:
        assert await import_file(session_factory, FIXTURES / f"{name}.yaml") == (name, "created")
    assert await _counts(session_factory) == (3, 4 + 2 + 3)
    async with session_factory() as s:
        created_at = await s.scalar(select(Business.created_at).where(Business.id == "salon"))

    changed = _fixture_data("salon")
    changed["name"] = "Bella Hair & Beauty"
    changed["services"] = [changed["services"][0] | {"duration_minutes": 50},
                           {"name": "Blow Dry", "duration_minutes": 30, "price": "35.00"}]
    assert await import_file(session_factory, _write(tmp_path, "salon", changed)) == (
        "salon", "updated")

    assert await _service_rows(session_factory, "salon") == [("Haircut", 50), ("Blow Dry", 30)]
    assert await _counts(session_factory) == (3, 2 + 2 + 3)
    async with session_factory() as s:
        row = (await s.execute(select(Business).where(Business.id == "salon"))).scalar_one()
    assert row.name == "Bella Hair & Beauty"
    assert row.created_at == created_at
    assert row.updated_at >= created_at
    assert row.profile["services"][1]["name"] == "Blow Dry"


async def test_reimporting_the_same_file_is_an_update(session_factory: Sessions) -> None:
    path = FIXTURES / "clinic.yaml"
    assert await import_file(session_factory, path) == ("clinic", "created")
    assert await import_file(session_factory, path) == ("clinic", "updated")
    assert await _counts(session_factory) == (1, 2)


async def test_catalog_columns_mirror_the_profile(session_factory: Sessions) -> None:
    await import_file(session_factory, FIXTURES / "salon.yaml")

    async with session_factory() as s:
        color = (await s.execute(select(BusinessService).where(
            BusinessService.business_id == "salon", BusinessService.name == "Color",
        ))).scalar_one()
        business = (await s.execute(select(Business).where(Business.id == "salon"))).scalar_one()
    expected = load_profile(FIXTURES / "salon.yaml").service_by_name("Color")
    assert expected is not None
    assert color.aliases == expected.aliases
    assert (color.duration_minutes, str(color.price), str(color.deposit)) == (
        120, "150.00", "40.00")
    assert (business.timezone, business.currency, business.owner_phone) == (
        "America/New_York", "usd", "+12125550199")
    assert (business.sms_number, business.whatsapp_phone_number_id) == (
        "+12125550100", "109876543210001")


async def test_get_profile_round_trips(session_factory: Sessions) -> None:
    for name in NAMES:
        await import_file(session_factory, FIXTURES / f"{name}.yaml")

    async with session_factory() as s:
        for name in NAMES:
            assert await get_profile(s, name) == load_profile(FIXTURES / f"{name}.yaml")
        assert await get_profile(s, "nobody") is None


async def test_find_business_by_channel(session_factory: Sessions) -> None:
    for name in NAMES:
        await import_file(session_factory, FIXTURES / f"{name}.yaml")

    find = business_id_by_channel
    assert await find(session_factory, "sms", "+12125550100") == "salon"
    assert await find(session_factory, "sms", "+1 (312) 555-0100") == "barber"
    assert await find(session_factory, "whatsapp", "109876543210002") == "clinic"
    assert await find(session_factory, "sms", "+12125550199") is None
    assert await find(session_factory, "whatsapp", "+12125550100") is None
    assert await find(session_factory, "sms", "not a number") is None


async def test_a_webhook_finds_its_business_without_a_session_once_it_is_known(
        session_factory: Sessions) -> None:
    """ingress's lookup: the same answers, and a session only when the answer is not fresh
    in the process (an unknown address is never remembered: a business imported next is
    found at once)."""
    for name in NAMES:
        await import_file(session_factory, FIXTURES / f"{name}.yaml")
    opened: list[int] = []

    def counting() -> AsyncSession:
        opened.append(1)
        return session_factory()

    counting.kw = session_factory.kw  # type: ignore[attr-defined]
    sessions = cast(Sessions, counting)
    assert await business_id_by_channel(sessions, "whatsapp", "109876543210002") == "clinic"
    assert await business_id_by_channel(sessions, "sms", "+1 (312) 555-0100") == "barber"
    assert len(opened) == 2  # the imports forgot what the process knew
    before = len(opened)
    assert await business_id_by_channel(sessions, "whatsapp", "109876543210002") == "clinic"
    assert await business_id_by_channel(sessions, "sms", "+13125550100") == "barber"
    assert len(opened) == before  # fresh: no session
    assert await business_id_by_channel(sessions, "sms", "+12125550199") is None
    assert await business_id_by_channel(sessions, "sms", "+12125550199") is None
    assert len(opened) == before + 2  # nobody owns it: asked each time


async def test_a_broken_file_writes_nothing(session_factory: Sessions, tmp_path: Path) -> None:
    await import_file(session_factory, FIXTURES / "salon.yaml")
    before = await _counts(session_factory)

    broken = _fixture_data("salon")
    broken["name"] = "Renamed"
    broken["timezone"] = "Mars/Base"
    broken["services"].append({"name": "Massage", "price": "-1.00"})
    with pytest.raises(ProfileError) as caught:
        await import_file(session_factory, _write(tmp_path, "salon", broken))

    assert "timezone: unknown IANA timezone 'Mars/Base'" in caught.value.problems
    assert "services[4].duration_minutes: field required" in caught.value.problems
    assert await _counts(session_factory) == before
    async with session_factory() as s:
        assert await get_profile(s, "salon") == load_profile(FIXTURES / "salon.yaml")

    brand_new = _fixture_data("barber") | {"id": "new-barber", "colour": "red"}
    del brand_new["channels"]
    with pytest.raises(ProfileError, match="colour: unknown key"):
        await import_file(session_factory, _write(tmp_path, "new", brand_new))
    assert await _counts(session_factory) == before


async def test_an_sms_number_belongs_to_one_business(session_factory: Sessions,
                                                      tmp_path: Path) -> None:
    await import_file(session_factory, FIXTURES / "salon.yaml")
    before = await _counts(session_factory)

    rival = _fixture_data("barber") | {"id": "rival"}
    rival["channels"] = {"sms": "+12125550100", "whatsapp_phone_number_id": "109876543210001"}
    with pytest.raises(ProfileError) as caught:
        await import_file(session_factory, _write(tmp_path, "rival", rival))

    assert caught.value.problems == [
        "channels.sms: +12125550100 is already the SMS number of business 'salon'; "
        "a number can belong to one business only",
        "channels.whatsapp_phone_number_id: 109876543210001 already belongs to business "
        "'salon'; it can belong to one business only",
    ]
    assert "rival" in str(caught.value)
    assert await _counts(session_factory) == before


async def test_a_refused_import_leaves_the_callers_transaction_usable(
        session_factory: Sessions) -> None:
    salon = load_profile(FIXTURES / "salon.yaml")
    rival = parse_profile(_fixture_data("clinic") | {
        "id": "rival", "channels": {"sms": "+12125550100"}})

    async with session_factory() as s, s.begin():
        assert await import_profile(s, salon) == "created"
        with pytest.raises(ProfileError, match="already the SMS number of business 'salon'"):
            await import_profile(s, rival)
        assert await import_profile(s, load_profile(FIXTURES / "barber.yaml")) == "created"
    assert await _counts(session_factory) == (2, 4 + 3)


async def test_a_concurrent_claim_is_refused_not_an_integrity_error(
        session_factory: Sessions) -> None:
    """Two imports race for one number: the loser waits on the unique index, then is told
    which business won (the pre-check could not see the winner's uncommitted row)."""
    first = parse_profile(_fixture_data("salon") | {"id": "first"})
    second = parse_profile(_fixture_data("salon") | {"id": "second"})

    async def blocked() -> bool:
        async with session_factory() as probe:
            waiting = await probe.scalar(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        return bool(waiting)

    async def import_second() -> str:
        async with session_factory() as s, s.begin():
            return await import_profile(s, second)

    async with session_factory() as s, s.begin():
        assert await import_profile(s, first) == "created"
        racer = asyncio.create_task(import_second())
        for _ in range(200):
            if await blocked():
                break
            await asyncio.sleep(0.02)
        else:
            racer.cancel()
            pytest.fail("the second import never waited on the first one's row")
    with pytest.raises(ProfileError, match="already the SMS number of business 'first'"):
        await racer
    assert await _counts(session_factory) == (1, 4)
