"""The WhatsApp Cloud API sender against a local Graph stub: the exact requests Meta expects
for free text, reply buttons and a template, and each kind of refusal as its typed error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.notifier.adapters.base import (
    OutboundMessage,
    Rejected,
    Retryable,
    Template,
    Undeliverable,
)
from services.notifier.adapters.whatsapp import WhatsAppCloudChannel, template_text
from tests.unit.notifier.provider_stubs import (
    ACCESS_TOKEN,
    Answer,
    MessagingStub,
    graph_error,
)

PHONE_NUMBER_ID = "109876543210001"
CUSTOMER = "+15555550101"


@pytest.fixture
def stub() -> Iterator[MessagingStub]:
    with MessagingStub() as running:
        yield running


def sender(stub: MessagingStub, token: str = ACCESS_TOKEN) -> WhatsAppCloudChannel:
    return WhatsAppCloudChannel(token, base_url=stub.url, api_version="v21.0", timeout_s=5)


def message(text: str = "See you Wed, Dec 2 at 3:00 PM.", **kw: object) -> OutboundMessage:
    fields: dict[str, object] = {"business_id": "salon", "channel": "whatsapp",
                                 "to": CUSTOMER, "text": text, "audience": "customer",
                                 "sender": PHONE_NUMBER_ID, **kw}
    return OutboundMessage(**fields)  # type: ignore[arg-type]


async def test_free_text_inside_the_window(stub: MessagingStub) -> None:
    sent = await sender(stub).send(message())
    assert sent.ids == ("wamid.STUB0001",) and sent.sent_as == "text"
    [request] = stub.sent("whatsapp")
    assert (request.method, request.path) == ("POST", f"/v21.0/{PHONE_NUMBER_ID}/messages")
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "15555550101", "type": "text",
        "text": {"preview_url": False, "body": "See you Wed, Dec 2 at 3:00 PM."}}


async def test_choices_become_reply_buttons(stub: MessagingStub) -> None:
    sent = await sender(stub).send(message("Reply C to confirm, R to reschedule or X to "
                                           "cancel.", choices=("C", "R", "X")))
    assert sent.sent_as == "buttons"
    assert stub.sent("whatsapp")[0].json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "15555550101", "type": "interactive",
        "interactive": {"type": "button",
                        "body": {"text": "Reply C to confirm, R to reschedule or X to cancel."},
                        "action": {"buttons": [
                            {"type": "reply", "reply": {"id": "C", "title": "C"}},
                            {"type": "reply", "reply": {"id": "R", "title": "R"}},
                            {"type": "reply", "reply": {"id": "X", "title": "X"}}]}}}


@pytest.mark.parametrize("choices", [
    ("1", "2", "3", "4"),                        # more than three buttons
    ("Yes, book it for me please", "No"),        # a title over 20 characters
], ids=["four", "long title"])
async def test_choices_that_do_not_fit_buttons_stay_text(
        stub: MessagingStub, choices: tuple[str, ...]) -> None:
    await sender(stub).send(message("Which one?", choices=choices))
    assert stub.sent("whatsapp")[0].json()["type"] == "text"


async def test_outside_the_window_the_template_carries_the_text(stub: MessagingStub) -> None:
    text = "Reminder: Haircut tomorrow at 3:00 PM.\nReply C, R or X."
    sent = await sender(stub).send(message(
        text, window_open=False, choices=("C", "R", "X"),
        template=Template("appointment_update", "en_US")))
    assert sent.sent_as == "template"
    assert stub.sent("whatsapp")[0].json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "15555550101", "type": "template",
        "template": {"name": "appointment_update", "language": {"code": "en_US"},
                     "components": [{"type": "body", "parameters": [
                         {"type": "text", "text": "Reminder: Haircut tomorrow at 3:00 PM. - "
                                                  "Reply C, R or X."}]}]}}


def test_template_text_has_no_line_breaks_tabs_or_long_runs_of_spaces() -> None:
    assert template_text("a\n\nb\tc      d ") == "a - b - c   d"


async def test_outside_the_window_without_a_template_nothing_is_sent(
        stub: MessagingStub) -> None:
    with pytest.raises(Undeliverable) as refused:
        await sender(stub).send(message(window_open=False, template=None))
    assert refused.value.reason == "outside_window_no_template"
    assert stub.requests == []


async def test_rate_limited_is_retryable_with_retry_after(stub: MessagingStub) -> None:
    stub.script("whatsapp", graph_error(429, 130429, "Rate limit hit",
                                        headers={"Retry-After": "7"}))
    with pytest.raises(Retryable) as busy:
        await sender(stub).send(message())
    assert busy.value.retry_after == 7.0 and busy.value.code == "130429"


@pytest.mark.parametrize(("answer", "error", "code"), [
    (graph_error(500, 131000, "Something went wrong"), Retryable, "131000"),
    (Answer(503, {}), Retryable, None),
    (graph_error(400, 131056, "Pair rate limit hit"), Retryable, "131056"),
    (graph_error(400, 131026, "Message undeliverable"), Undeliverable, "131026"),
    (graph_error(400, 132001, "Template name does not exist in the translation"),
     Rejected, "132001"),
    (graph_error(400, 131030, "Recipient phone number 15555550101 not in allowed list"),
     Rejected, "131030"),
], ids=["5xx", "503 bare", "pair rate limit", "not on whatsapp", "unknown template",
        "not allowed"])
async def test_refusals_map_to_typed_errors(stub: MessagingStub, answer: Answer,
                                            error: type[Exception], code: str | None) -> None:
    stub.script("whatsapp", answer)
    with pytest.raises(error) as raised:
        await sender(stub).send(message())
    assert getattr(raised.value, "code", None) == code
    assert "15555550101" not in str(raised.value)  # reasons never quote the number


async def test_a_wrong_token_is_rejected(stub: MessagingStub) -> None:
    with pytest.raises(Rejected, match="HTTP 401, error 190"):
        await sender(stub, token="not-the-token").send(message())


async def test_no_answer_is_retryable() -> None:
    with MessagingStub() as gone:
        url = gone.url
    channel = WhatsAppCloudChannel(ACCESS_TOKEN, base_url=url, timeout_s=2)
    with pytest.raises(Retryable, match="ConnectError"):
        await channel.send(message())


async def test_a_business_without_a_whatsapp_number_is_rejected(stub: MessagingStub) -> None:
    with pytest.raises(Rejected, match="whatsapp_phone_number_id"):
        await sender(stub).send(message(sender=None))
    assert stub.requests == []
