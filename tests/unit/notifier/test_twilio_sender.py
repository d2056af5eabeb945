"""The Twilio SMS sender (the official SDK, its HTTP client pointed at a local stub): the
exact request Twilio's Messages API expects, long messages, and each refusal as its typed
error."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from services.notifier.adapters.base import (
    OutboundMessage,
    Rejected,
    Retryable,
    Undeliverable,
)
from services.notifier.adapters.twilio_sms import (
    HttpxTwilioClient,
    TwilioSmsChannel,
    split_body,
    utf16_len,
)
from tests.unit.notifier.provider_stubs import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Answer,
    MessagingStub,
    twilio_error,
)

SALON_SMS = "+12125550100"
CUSTOMER = "+15555550101"
CALLBACK = "https://receptionist.example.com/webhooks/twilio/status"


@pytest.fixture
def stub() -> Iterator[MessagingStub]:
    with MessagingStub() as running:
        yield running


def sender(stub: MessagingStub, token: str = AUTH_TOKEN) -> TwilioSmsChannel:
    return TwilioSmsChannel(ACCOUNT_SID, token, status_callback=CALLBACK,
                            http_client=HttpxTwilioClient(base_url=stub.url, timeout_s=5))


def message(text: str = "See you Wed, Dec 2 at 3:00 PM.", **kw: object) -> OutboundMessage:
    fields: dict[str, object] = {"business_id": "salon", "channel": "sms", "to": CUSTOMER,
                                 "text": text, "audience": "customer", "sender": SALON_SMS,
                                 **kw}
    return OutboundMessage(**fields)  # type: ignore[arg-type]


async def test_the_request_twilio_expects(stub: MessagingStub) -> None:
    sent = await sender(stub).send(message())
    assert sent.sent_as == "sms" and sent.ids == (f"SM{1:032x}",)
    [request] = stub.sent("twilio")
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["user-agent"].startswith("twilio-python/")
    assert request.form == {"To": CUSTOMER, "From": SALON_SMS,
                            "Body": "See you Wed, Dec 2 at 3:00 PM.",
                            "StatusCallback": CALLBACK}


async def test_up_to_1600_characters_go_as_one_message(stub: MessagingStub) -> None:
    text = ("word " * 320).strip()  # 1599 characters: Twilio concatenates the segments
    await sender(stub).send(message(text))
    assert [r.form["Body"] for r in stub.sent("twilio")] == [text]


async def test_longer_messages_go_in_parts_in_order(stub: MessagingStub) -> None:
    text = " ".join(f"w{i:04d}" for i in range(700))  # 4199 characters
    sent = await sender(stub).send(message(text))
    bodies = [r.form["Body"] for r in stub.sent("twilio")]
    assert len(bodies) == 3 and len(sent.ids) == 3
    assert all(utf16_len(b) <= 1600 for b in bodies)
    assert " ".join(bodies) == text  # cut at spaces, nothing lost, in order
    assert all(r.form["StatusCallback"] == CALLBACK for r in stub.sent("twilio"))


def test_split_counts_like_twilio_and_cuts_inside_a_word_only_when_it_must() -> None:
    assert split_body("😀" * 900) == ["😀" * 800, "😀" * 100]  # an emoji is 2 units
    assert split_body("x" * 2000) == ["x" * 1600, "x" * 400]
    assert split_body("line one\n" + "y" * 1595) == ["line one", "y" * 1595]


@pytest.mark.parametrize(("answer", "error", "code"), [
    (twilio_error(400, 21614, "'To' number +15555550101 is not a valid mobile number"),
     Undeliverable, "21614"),
    (twilio_error(400, 21211, "Invalid 'To' Phone Number: +15555550101"), Undeliverable,
     "21211"),
    (twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"), Undeliverable,
     "21610"),
    (twilio_error(400, 21606, "The From phone number is not a valid SMS-capable number"),
     Rejected, "21606"),
    (twilio_error(500, 20500, "Internal Server Error"), Retryable, "20500"),
    (Answer(502, {}), Retryable, None),
], ids=["landline", "invalid number", "unsubscribed", "bad sender", "500", "502"])
async def test_refusals_map_to_typed_errors(stub: MessagingStub, answer: Answer,
                                            error: type[Exception], code: str | None) -> None:
    stub.script("twilio", answer)
    with pytest.raises(error) as raised:
        await sender(stub).send(message())
    assert getattr(raised.value, "code", None) == code
    assert "5555550101" not in str(raised.value)  # Twilio's message quotes the number


async def test_429_is_retryable_with_retry_after(stub: MessagingStub) -> None:
    stub.script("twilio", twilio_error(429, 20429, "Too Many Requests",
                                       headers={"Retry-After": "2"}))
    with pytest.raises(Retryable) as busy:
        await sender(stub).send(message())
    assert busy.value.retry_after == 2.0 and busy.value.code == "20429"


async def test_wrong_credentials_are_rejected(stub: MessagingStub) -> None:
    with pytest.raises(Rejected, match="HTTP 401, error 20003"):
        await sender(stub, token="wrong").send(message())


async def test_a_business_without_an_sms_number_is_rejected(stub: MessagingStub) -> None:
    with pytest.raises(Rejected, match=r"channels\.sms"):
        await sender(stub).send(message(sender=None))
    assert stub.requests == []


def test_without_a_base_url_the_sdk_reaches_twilio_itself() -> None:
    uri = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert HttpxTwilioClient().url(uri) == uri
    assert HttpxTwilioClient(base_url="http://127.0.0.1:9/twilio/").url(uri) == (
        f"http://127.0.0.1:9/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
