"""admin's own pieces without a database: the failed-key limiter on a hand-moved clock, the
dashboard's signed session cookie and CSRF token, the client address, and pages and charts
that escape everything they show."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from starlette.requests import Request

from libs.runtime.web import client_address
from services.admin import pages
from services.admin.charts import rate_chart
from services.admin.schemas import BookingOut, Bucket, CustomerOut
from services.admin.security import (
    FailureLimiter,
    SessionSigner,
    hash_key,
    retry_after,
)

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


class Seconds:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_failures_use_up_the_burst_then_wait_for_the_refill() -> None:
    clock = Seconds()
    limiter = FailureLimiter(per_minute=6, burst=3, clock=clock)
    assert limiter.wait("1.2.3.4") == 0.0  # a good key costs nothing
    for _ in range(3):
        assert limiter.wait("1.2.3.4") == 0.0
        limiter.failed("1.2.3.4")
    assert limiter.wait("1.2.3.4") == pytest.approx(10.0)  # one token every 10 s
    assert retry_after(limiter.wait("1.2.3.4")) == "10"
    assert limiter.wait("5.6.7.8") == 0.0  # per address
    clock.now += 4
    assert limiter.wait("1.2.3.4") == pytest.approx(6.0)
    clock.now += 6
    assert limiter.wait("1.2.3.4") == 0.0
    limiter.failed("1.2.3.4")
    assert limiter.wait("1.2.3.4") > 0


def test_the_limiter_forgets_the_least_recent_addresses_beyond_its_bound() -> None:
    limiter = FailureLimiter(per_minute=1, burst=1, clock=Seconds(), max_keys=2)
    for address in ("a", "b", "c"):
        limiter.failed(address)
    assert limiter.wait("a") == 0.0  # forgotten: starts afresh
    assert limiter.wait("c") > 0


def test_the_session_cookie_names_the_key_and_cannot_be_forged_or_outlive_its_expiry() -> None:
    signer = SessionSigner("a secret")
    cookie = signer.cookie("key_0123abcd", NOW + timedelta(hours=1))
    assert cookie.startswith("key_0123abcd.") and "rk_" not in cookie
    assert signer.key_id(cookie, NOW) == "key_0123abcd"
    assert signer.key_id(cookie, NOW + timedelta(hours=1)) is None  # expired
    body, _, mac = cookie.rpartition(".")
    forged = body.replace("key_0123abcd", "key_ffffffff") + "." + mac
    assert signer.key_id(forged, NOW) is None
    later = cookie.replace(body.split(".")[1], str(int(body.split(".")[1]) + 3600))
    assert signer.key_id(later, NOW) is None
    assert SessionSigner("another secret").key_id(cookie, NOW) is None
    assert SessionSigner(None).key_id(cookie, NOW) is None  # a random secret
    assert signer.key_id("garbage", NOW) is None and signer.key_id("", NOW) is None
    token = signer.csrf(cookie)
    assert signer.csrf_ok(cookie, token)
    assert not signer.csrf_ok(cookie, "") and not signer.csrf_ok(forged, token)


def test_keys_are_stored_as_their_sha_256() -> None:
    assert hash_key("rk_salon_x") == hash_key(" rk_salon_x ")
    assert re.fullmatch(r"[0-9a-f]{64}", hash_key("rk_salon_x"))


@pytest.mark.parametrize(("host", "key"), [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("testclient", "testclient")])
def test_clients_are_keyed_by_address_and_ipv6_by_its_64(host: str, key: str) -> None:
    request = Request({"type": "http", "client": (host, 5000), "headers": []})
    assert client_address(request) == key


def _booking(service: str, address: str) -> BookingOut:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    return BookingOut(id=uuid.uuid4(), reference="ABC123", service=service, resource=1,
                      starts_at=start, ends_at=start + timedelta(minutes=45),
                      status="confirmed", deposit_status="paid",
                      deposit_amount=Decimal("15.00"), attendance_confirmed=False,
                      no_show_risk="high",
                      customer=CustomerOut(id=uuid.uuid4(), address=address, kept=0,
                                           no_shows=1, late_cancels=0, opted_out=False))


def test_pages_escape_everything_they_show() -> None:
    evil = "<script>alert('x')</script>"
    card = pages.actions(_booking(evil, "+12125550100"), NOW, "tok'en", NOW.date())
    listed = pages.high_risk_list([_booking(evil, "web:<b>")], NOW, "t", NOW.date())
    for html in (card, listed, pages.login(error=evil)):
        assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in listed and "tok&#x27;en" in card
    chart = rate_chart(evil, [Bucket(key=evil, completed=1, no_show=1, rate=0.5)])
    assert "<script>" not in chart and chart.count("&lt;script&gt;") >= 2


def test_a_chart_draws_each_rate_to_scale() -> None:
    chart = rate_chart("t", [Bucket(key="Mon", completed=3, no_show=1, rate=0.25),
                             Bucket(key="Tue", completed=1, no_show=1, rate=0.5),
                             Bucket(key="Wed", completed=0, no_show=0, rate=None)])
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"',
                                            chart)]
    assert heights[1] == pytest.approx(2 * heights[0])  # the axis tops at 50%
    assert heights[2] < 1  # no appointments: no bar
    assert "Tue: 50% no-shows (1 of 2)" in chart and "Wed: n/a no-shows (0 of 0)" in chart
    assert "No kept or missed" in rate_chart("t", [])
