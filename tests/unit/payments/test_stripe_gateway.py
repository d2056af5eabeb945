"""The real Stripe adapter against a local stub of the Stripe API: the exact requests it makes
(URL, auth, idempotency key, form body) and how it reads Stripe's answers and errors."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import stripe

from services.payments.adapters.base import (
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundRequest,
)
from services.payments.adapters.stripe_gateway import StripeGateway, to_minor_units
from tests.unit.payments.stripe_stub import (
    Answer,
    StripeStub,
    rate_limited,
    stripe_error,
)

# The SDK's HTTPXClient posts its encoded form as `data=`; httpx deprecates that. Not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning")

API_KEY = "sk_test_51ReceptionistStubKey"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SUCCESS_URL = "https://book.example.com/paid?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://book.example.com/cancelled"
SESSIONS = "/v1/checkout/sessions"


def checkout_request(**changes: object) -> CheckoutRequest:
    fields: dict[str, object] = dict(
        business_id="salon", booking_id="bk-42", reference="R7K2", attempt=1,
        amount=Decimal("20.00"), currency="usd", description="Deposit: Haircut, Tue 3 Mar 10:00",
        expires_at=NOW + timedelta(hours=2), customer="+15555550101")
    fields.update(changes)
    return CheckoutRequest(**fields)  # type: ignore[arg-type]


def refund_request(**changes: object) -> RefundRequest:
    fields: dict[str, object] = dict(
        business_id="salon", booking_id="bk-42", payment_intent="pi_3PqTestIntent",
        amount=Decimal("20.00"), currency="usd", reason="cancelled_in_time")
    fields.update(changes)
    return RefundRequest(**fields)  # type: ignore[arg-type]


def unix(moment: datetime) -> str:
    return str(int(moment.timestamp()))


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub(API_KEY) as running:
        yield running


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK sleeps 0.5 s or more between retries; the retry logic is what is tested."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.001)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.002)


def make_gateway(stub: StripeStub, *, api_key: str = API_KEY, max_retries: int = 2,
                 timeout_s: float = 5, now: datetime = NOW,
                 api_base: str | None = None) -> StripeGateway:
    return StripeGateway(api_key, api_base=api_base or stub.url, success_url=SUCCESS_URL,
                         cancel_url=CANCEL_URL, timeout_s=timeout_s, max_retries=max_retries,
                         clock=lambda: now)


async def failure(stub: StripeStub, call: Callable[[StripeGateway], Awaitable[object]],
                  **options: Any) -> GatewayError:
    """The GatewayError a call raises, through a gateway made (and closed) for it."""
    gateway = make_gateway(stub, **options)
    try:
        with pytest.raises(GatewayError) as caught:
            await call(gateway)
    finally:
        await gateway.aclose()
    return caught.value


@pytest.fixture
async def gateway(stub: StripeStub) -> AsyncIterator[StripeGateway]:
    gw = make_gateway(stub)
    yield gw
    await gw.aclose()


# -- create_checkout ----------------------------------------------------------------------


async def test_create_checkout_sends_exactly_the_documented_request(
        gateway: StripeGateway, stub: StripeStub) -> None:
    session = await gateway.create_checkout(checkout_request())

    [call] = stub.requests
    assert (call.method, call.path, call.query) == ("POST", SESSIONS, {})
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.headers["idempotency-key"] == "checkout-bk-42-1"
    assert call.headers["stripe-version"] == stripe.api_version
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.form == {  # every field, and nothing else (the customer's phone is never sent)
        "mode": ["payment"],
        "line_items[0][quantity]": ["1"],
        "line_items[0][price_data][currency]": ["usd"],
        "line_items[0][price_data][unit_amount]": ["2000"],
        "line_items[0][price_data][product_data][name]": ["Deposit: Haircut, Tue 3 Mar 10:00"],
        "client_reference_id": ["bk-42"],
        "metadata[business_id]": ["salon"],
        "metadata[booking_id]": ["bk-42"],
        "metadata[reference]": ["R7K2"],
        "metadata[attempt]": ["1"],
        "payment_intent_data[metadata][business_id]": ["salon"],
        "payment_intent_data[metadata][booking_id]": ["bk-42"],
        "expires_at": [unix(NOW + timedelta(hours=2))],
        "success_url": [SUCCESS_URL],
        "cancel_url": [CANCEL_URL],
    }
    created = stub.sessions[session.id]
    assert session == CheckoutSession(id=created["id"], url=created["url"],
                                      expires_at=NOW + timedelta(hours=2))
    assert session.id.startswith("cs_test_")
    assert session.url.startswith("https://checkout.stripe.com/c/pay/cs_test_")


@pytest.mark.parametrize(("wanted", "sent"), [
    (NOW + timedelta(minutes=5), NOW + timedelta(minutes=30)),   # Stripe's minimum
    (NOW - timedelta(hours=1), NOW + timedelta(minutes=30)),     # already past
    (NOW + timedelta(minutes=30), NOW + timedelta(minutes=30)),  # exactly the minimum
    (NOW + timedelta(hours=23), NOW + timedelta(hours=23)),      # inside the window: as asked
    (NOW + timedelta(days=3), NOW + timedelta(hours=24)),        # Stripe's maximum
    (NOW + timedelta(hours=2, microseconds=1), NOW + timedelta(hours=2, seconds=1)),
])
async def test_expires_at_is_clamped_into_stripes_window(
        gateway: StripeGateway, stub: StripeStub, wanted: datetime, sent: datetime) -> None:
    session = await gateway.create_checkout(checkout_request(expires_at=wanted))

    assert stub.requests[0].field("expires_at") == unix(sent)
    assert session.expires_at == sent  # what Stripe answered, not what was asked


async def test_zero_decimal_currency_is_sent_without_scaling(
        gateway: StripeGateway, stub: StripeStub) -> None:
    await gateway.create_checkout(checkout_request(amount=Decimal("3000"), currency="jpy"))

    assert stub.requests[0].field("line_items[0][price_data][unit_amount]") == "3000"
    assert stub.requests[0].field("line_items[0][price_data][currency]") == "jpy"


async def test_same_booking_and_attempt_gives_the_same_session(
        gateway: StripeGateway, stub: StripeStub) -> None:
    first = await gateway.create_checkout(checkout_request())
    again = await gateway.create_checkout(checkout_request())
    other_attempt = await gateway.create_checkout(checkout_request(attempt=2))

    assert again == first
    assert other_attempt.id != first.id
    assert [r.headers["idempotency-key"] for r in stub.requests] == [
        "checkout-bk-42-1", "checkout-bk-42-1", "checkout-bk-42-2"]
    assert len(stub.sessions) == 2


async def test_a_retry_that_changes_expires_at_is_refused_by_stripe(stub: StripeStub) -> None:
    """Stripe replays an idempotency key only for identical parameters: an early expiry
    clamped from a later "now" differs, and Stripe's 400 idempotency_error is permanent."""
    early = checkout_request(expires_at=NOW + timedelta(minutes=5))
    first, later = make_gateway(stub), make_gateway(stub, now=NOW + timedelta(minutes=10))
    try:
        await first.create_checkout(early)
        with pytest.raises(GatewayError, match="IdempotencyError") as caught:
            await later.create_checkout(early)
    finally:
        await first.aclose()
        await later.aclose()
    assert caught.value.retryable is False


async def test_a_naive_expiry_is_refused_before_calling_stripe(
        gateway: StripeGateway, stub: StripeStub) -> None:
    with pytest.raises(GatewayError, match="timezone-aware") as caught:
        await gateway.create_checkout(checkout_request(expires_at=datetime(2026, 3, 2, 17)))
    assert caught.value.retryable is False
    assert stub.requests == []


# -- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    ("20.00", "usd", 2000), ("19.99", "usd", 1999), ("20", "USD", 2000), ("0.5", "eur", 50),
    ("3000", "jpy", 3000), ("15000", "krw", 15000), ("2500", "clp", 2500),
    ("1.250", "kwd", 1250), ("5000", "isk", 500000),
])
def test_amounts_convert_exactly_to_minor_units(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [
    ("20.005", "usd"),  # a fraction of a cent
    ("3000.5", "jpy"),  # yen has no minor unit
    ("1.255", "kwd"),   # three-decimal: the last digit must be 0
    ("100.50", "isk"),  # whole krónur only
    ("0", "usd"), ("-5.00", "usd"), ("NaN", "usd"), ("Infinity", "usd"),
])
def test_amounts_stripe_cannot_charge_exactly_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(GatewayError) as caught:
        to_minor_units(Decimal(amount), currency)
    assert caught.value.retryable is False


# -- expire_checkout ------------------------------------------------------------------------


async def test_expire_posts_to_the_session_expire_url(
        gateway: StripeGateway, stub: StripeStub) -> None:
    session = await gateway.create_checkout(checkout_request())

    await gateway.expire_checkout(session.id)

    [call] = stub.calls("POST", f"{SESSIONS}/{session.id}/expire")
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.headers["idempotency-key"]  # the SDK's own, so its retries are safe
    assert call.headers["stripe-version"] == stripe.api_version
    assert call.form == {}
    assert stub.sessions[session.id]["status"] == "expired"


@pytest.mark.parametrize("status", ["expired", "complete"])
async def test_expiring_a_session_that_is_no_longer_open_is_quiet(
        gateway: StripeGateway, stub: StripeStub, status: str) -> None:
    stub.add_session("cs_test_done", status)

    await gateway.expire_checkout("cs_test_done")  # no error

    assert [(r.method, r.path) for r in stub.requests] == [
        ("POST", f"{SESSIONS}/cs_test_done/expire"),  # Stripe: 400, not open
        ("GET", f"{SESSIONS}/cs_test_done"),          # read back: really not open
    ]
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in stub.requests)


async def test_expire_refused_for_an_open_session_is_an_error(
        gateway: StripeGateway, stub: StripeStub) -> None:
    stub.add_session("cs_test_open", "open")
    stub.script("POST", f"{SESSIONS}/cs_test_open/expire",
                stripe_error(400, "invalid_request_error", "Something else is wrong."))

    with pytest.raises(GatewayError, match="Something else is wrong") as caught:
        await gateway.expire_checkout("cs_test_open")
    assert caught.value.retryable is False
    assert stub.sessions["cs_test_open"]["status"] == "open"


async def test_expiring_an_unknown_session_is_a_permanent_error(
        gateway: StripeGateway, stub: StripeStub) -> None:
    with pytest.raises(GatewayError, match=r"No such checkout\.session") as caught:
        await gateway.expire_checkout("cs_test_nope")
    assert caught.value.retryable is False
    assert [r.method for r in stub.requests] == ["POST"]  # a 404 is not read back


# -- refund ---------------------------------------------------------------------------------


async def test_refund_sends_exactly_the_documented_request(
        gateway: StripeGateway, stub: StripeStub) -> None:
    refund_id = await gateway.refund(refund_request())

    [call] = stub.requests
    assert (call.method, call.path) == ("POST", "/v1/refunds")
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.headers["idempotency-key"] == "refund-bk-42-pi_3PqTestIntent"
    assert call.headers["stripe-version"] == stripe.api_version
    assert call.form == {
        "payment_intent": ["pi_3PqTestIntent"],
        "amount": ["2000"],
        "reason": ["requested_by_customer"],
        "metadata[business_id]": ["salon"],
        "metadata[booking_id]": ["bk-42"],
        "metadata[reason]": ["cancelled_in_time"],
    }
    assert refund_id.startswith("re_test_")
    assert refund_id in stub.refunds


async def test_refunding_again_returns_the_same_refund(
        gateway: StripeGateway, stub: StripeStub) -> None:
    first = await gateway.refund(refund_request())
    again = await gateway.refund(refund_request())

    assert again == first
    assert len(stub.refunds) == 1


async def test_refund_of_an_amount_that_is_not_exact_calls_nothing(
        gateway: StripeGateway, stub: StripeStub) -> None:
    with pytest.raises(GatewayError):
        await gateway.refund(refund_request(amount=Decimal("1.001")))
    assert stub.requests == []


# -- retries and errors ---------------------------------------------------------------------


@pytest.mark.usefixtures("fast_backoff")
@pytest.mark.parametrize("transient", [
    rate_limited(should_retry=True),
    stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
    stripe_error(409, "idempotency_error",  # the same key is still being processed
                 "There is currently another in-progress request using this idempotency key."),
], ids=["429-should-retry", "500", "409"])
async def test_the_sdk_retries_a_transient_failure_with_the_same_key(
        gateway: StripeGateway, stub: StripeStub, transient: Answer) -> None:
    stub.script("POST", SESSIONS, transient)

    session = await gateway.create_checkout(checkout_request())

    assert [r.headers["idempotency-key"] for r in stub.requests] == ["checkout-bk-42-1"] * 2
    assert stub.requests[0].form == stub.requests[1].form
    assert list(stub.sessions) == [session.id]


@pytest.mark.usefixtures("fast_backoff")
async def test_retries_exhausted_surface_a_retryable_error(
        gateway: StripeGateway, stub: StripeStub) -> None:
    stub.script("POST", "/v1/refunds", *[rate_limited(should_retry=True)] * 3)

    with pytest.raises(GatewayError, match="RateLimitError") as caught:
        await gateway.refund(refund_request())

    assert caught.value.retryable is True
    assert len(stub.requests) == 3  # the first try and max_retries=2 retries, no more
    assert {r.headers["idempotency-key"] for r in stub.requests} == {
        "refund-bk-42-pi_3PqTestIntent"}
    assert stub.refunds == {}


async def test_a_plain_rate_limit_is_left_to_the_consumer_retry(
        gateway: StripeGateway, stub: StripeStub) -> None:
    """The SDK retries a 429 only when Stripe says so (`Stripe-Should-Retry: true`)."""
    stub.script("POST", SESSIONS, rate_limited())

    with pytest.raises(GatewayError) as caught:
        await gateway.create_checkout(checkout_request())

    assert caught.value.retryable is True
    assert len(stub.requests) == 1


@pytest.mark.usefixtures("fast_backoff")
async def test_stripe_should_retry_false_stops_the_sdk(
        gateway: StripeGateway, stub: StripeStub) -> None:
    stub.script("POST", SESSIONS, stripe_error(500, "api_error", "Replayed failure.",
                                               headers={"Stripe-Should-Retry": "false"}))

    with pytest.raises(GatewayError) as caught:
        await gateway.create_checkout(checkout_request())

    assert caught.value.retryable is True  # a 5xx may still pass later
    assert len(stub.requests) == 1


@pytest.mark.parametrize(("answer", "error", "retryable"), [
    (stripe_error(400, "invalid_request_error", "Invalid currency: usx.", param="currency"),
     "InvalidRequestError", False),
    (stripe_error(401, "invalid_request_error", "Invalid API Key provided: sk_test_***"),
     "AuthenticationError", False),
    (stripe_error(402, "card_error", "Your card was declined.", code="card_declined"),
     "CardError", False),
    (stripe_error(403, "invalid_request_error", "The provided key does not have access."),
     "PermissionError", False),
    (stripe_error(400, "idempotency_error", "Keys for idempotent requests ..."),
     "IdempotencyError", False),
    (rate_limited(), "RateLimitError", True),
    (stripe_error(500, "api_error", "Something went wrong."), "APIError", True),
    (stripe_error(503, "api_error", "Service unavailable."), "APIError", True),
], ids=["400", "401", "402", "403", "idempotency", "429", "500", "503"])
async def test_stripe_errors_map_to_gateway_errors(
        stub: StripeStub, answer: Answer, error: str, retryable: bool) -> None:
    stub.script("POST", SESSIONS, answer)
    caught = await failure(stub, lambda g: g.create_checkout(checkout_request()),
                           max_retries=0)
    assert error in str(caught) and caught.retryable is retryable
    assert str(answer.body["error"]["message"]) in str(caught)


async def test_a_wrong_api_key_is_a_permanent_error(stub: StripeStub) -> None:
    caught = await failure(stub, lambda g: g.create_checkout(checkout_request()),
                           api_key="sk_test_revoked")
    assert "AuthenticationError" in str(caught) and caught.retryable is False
    assert stub.requests[0].headers["authorization"] == "Bearer sk_test_revoked"
    assert len(stub.requests) == 1


async def test_a_slow_answer_times_out_as_retryable(stub: StripeStub) -> None:
    stub.script("POST", "/v1/refunds", Answer(200, {"id": "re_late", "object": "refund"},
                                              delay_s=1.0))
    caught = await failure(stub, lambda g: g.refund(refund_request()), timeout_s=0.2,
                           max_retries=0)
    assert "APIConnectionError" in str(caught) and caught.retryable is True


async def test_nothing_listening_is_retryable(stub: StripeStub) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caught = await failure(stub, lambda g: g.expire_checkout("cs_test_any"),
                           api_base=f"http://127.0.0.1:{port}", max_retries=0)
    assert caught.retryable is True
