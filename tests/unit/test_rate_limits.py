"""Token buckets on a clock the test moves by hand: a burst, then one request per refill, and
the wait until the next one; and the client address the buckets key on."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from libs.runtime.web import client_address
from services.ingress.limits import Buckets, Rate, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_refill_rate() -> None:
    clock = Clock()
    buckets = Buckets(Rate(per_minute=6, burst=3), clock)  # one token every 10 s
    assert [buckets.take("ip") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("ip") == pytest.approx(10.0)
    clock.now += 4
    assert buckets.take("ip") == pytest.approx(6.0)  # refused requests cost nothing
    clock.now += 6
    assert buckets.take("ip") == 0.0
    assert buckets.take("ip") == pytest.approx(10.0)


def test_keys_have_buckets_of_their_own() -> None:
    buckets = Buckets(Rate(per_minute=1, burst=1), Clock())
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0


def test_an_idle_bucket_refills_to_its_burst_and_no_further() -> None:
    clock = Clock()
    buckets = Buckets(Rate(per_minute=60, burst=2), clock)
    buckets.take("a")
    clock.now += 3600
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a") > 0


def test_a_clock_stepping_back_refills_nothing() -> None:
    clock = Clock()
    buckets = Buckets(Rate(per_minute=60, burst=1), clock)
    buckets.take("a")
    clock.now -= 100
    assert buckets.take("a") > 0


def test_memory_is_bounded_by_forgetting_the_least_recently_used() -> None:
    buckets = Buckets(Rate(per_minute=1, burst=1), Clock(), max_keys=3)
    for key in ("a", "b", "c"):
        buckets.take(key)
    buckets.take("a")  # used again: "b" is now the oldest
    buckets.take("d")
    assert len(buckets) == 3
    assert buckets.take("a") > 0   # remembered: still empty
    assert buckets.take("b") == 0.0  # forgotten: starts full


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"),
                                              (59.5, "60")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    assert retry_after(wait) == header


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_rate_must_let_something_through(per_minute: float, burst: int) -> None:
    with pytest.raises(ValueError):
        Rate(per_minute, burst)


def request_from(host: str | None, headers: list[tuple[bytes, bytes]] | None = None
                 ) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers or [],
                    "client": (host, 5000) if host is not None else None})


@pytest.mark.parametrize(("host", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same /64: one client
    ("::ffff:203.0.113.7", "203.0.113.7"),
    (None, "unknown"),
])
def test_the_client_is_the_scope_address_an_ipv6_one_by_its_64(host: str | None,
                                                                key: str) -> None:
    assert client_address(request_from(host)) == key


def test_forwarding_headers_are_not_read_here() -> None:
    """uvicorn rewrites the scope's client from X-Forwarded-For for trusted proxies only
    (FORWARDED_ALLOW_IPS); a client's own header changes nothing."""
    spoofed = request_from("203.0.113.7", [(b"x-forwarded-for", b"198.51.100.1"),
                                           (b"forwarded", b"for=198.51.100.1")])
    assert client_address(spoofed) == "203.0.113.7"
