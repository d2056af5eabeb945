"""notifier sends through the real WhatsApp and Twilio senders (against a local stub that
checks each request): free text or a template at the 24-hour window's edge, buttons,
retries that honour Retry-After and then dead-letter with the reason, permanent refusals
recorded with one staff alert, and a crash between the provider's answer and our commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from libs.bus.consumer import Consumer
from libs.bus.context import PermanentError
from libs.bus.memory import MemoryTransport
from libs.contracts.commands import ReplyRequested
from receptionist.bootstrap import full_topology
from services.notifier.adapters.base import OutboundMessage, Sent, Template
from services.notifier.definition import DEFINITION
from services.notifier.sending import RetryPolicy
from tests.helpers import eventually
from tests.integration.notifier_kit import (
    CALLBACK,
    CUSTOMER,
    OWNER,
    SALON_SMS,
    SALON_WA,
    Kit,
    Sessions,
    hours,
    make_kit,
    salon,
    use_profile,
)
from tests.unit.notifier.provider_stubs import (
    MessagingStub,
    graph_error,
    twilio_error,
)

pytestmark = pytest.mark.integration

TEMPLATE = Template("appointment_update", "en_US")


@pytest.fixture
def stub() -> Iterator[MessagingStub]:
    with MessagingStub() as running:
        yield running


@pytest.fixture
async def kit(session_factory: Sessions, stub: MessagingStub) -> AsyncIterator[Kit]:
    yield await make_kit(session_factory, stub)


def staff_sms(stub: MessagingStub) -> list[dict[str, str]]:
    return [r.form for r in stub.sent("twilio") if r.form["To"] == OWNER]


# --- the 24-hour window ------------------------------------------------------------------


async def test_free_text_while_the_customer_wrote_less_than_24_hours_ago(kit: Kit) -> None:
    kit.customer_wrote(kit.clock.now() - hours(24) + timedelta(seconds=1))
    sent = await kit.reply("See you tomorrow at 3:00 PM.", deps=kit.deps(template=TEMPLATE))
    [request] = kit.stub.sent("whatsapp")
    assert request.path == f"/v21.0/{SALON_WA}/messages"
    assert request.json() == {"messaging_product": "whatsapp", "recipient_type": "individual",
                              "to": CUSTOMER.lstrip("+"), "type": "text",
                              "text": {"preview_url": False,
                                       "body": "See you tomorrow at 3:00 PM."}}
    row = await kit.row(sent)
    assert (row.status, row.sent_as, row.provider_message_id) == ("sent", "text",
                                                                  "wamid.STUB0001")


async def test_at_24_hours_exactly_the_template_is_sent(kit: Kit) -> None:
    kit.customer_wrote(kit.clock.now() - hours(24))
    sent = await kit.reply("Reminder: Haircut tomorrow at 3:00 PM.", purpose="reminder",
                           deps=kit.deps(template=TEMPLATE))
    assert kit.stub.sent("whatsapp")[0].json()["template"] == {
        "name": "appointment_update", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Reminder: Haircut tomorrow at 3:00 PM."}]}]}
    assert (await kit.row(sent)).sent_as == "template"


async def test_a_customer_who_never_wrote_gets_the_businesss_own_template(kit: Kit) -> None:
    await use_profile(kit, salon(whatsapp_template={"name": "salon_update",
                                                    "language": "es_MX"}))
    await kit.reply("Recordatorio: corte mañana.", purpose="reminder",
                    deps=kit.deps(template=TEMPLATE))
    template = kit.stub.sent("whatsapp")[0].json()["template"]
    assert (template["name"], template["language"]) == ("salon_update", {"code": "es_MX"})


async def test_a_reply_written_in_spanish_goes_in_the_spanish_template(kit: Kit) -> None:
    await use_profile(kit, salon(whatsapp_template={"name": "salon_update"},
                                 whatsapp_template_es={"name": "salon_aviso"}))
    spanish = await kit.reply("Recordatorio: corte mañana.", purpose="reminder",
                              language="es")
    await kit.reply("Reminder: haircut tomorrow.", purpose="reminder", language="en")
    first, second = (r.json()["template"] for r in kit.stub.sent("whatsapp"))
    assert (first["name"], first["language"]) == ("salon_aviso", {"code": "es"})
    assert (second["name"], second["language"]) == ("salon_update", {"code": "en_US"})
    assert (await kit.row(spanish)).language == "es"


async def test_the_window_is_what_the_reply_carried_and_is_recorded_with_it(kit: Kit) -> None:
    """notifier keeps no window of its own: each reply says when the customer last wrote
    (fsm keeps it), and the message log records it beside the message."""
    wrote = kit.clock.now() - hours(1)
    inside = await kit.reply("Got it.", customer_wrote_at=wrote)
    await kit.reply("Reminder: Haircut tomorrow.", purpose="reminder",
                    customer_wrote_at=kit.clock.now() - hours(30),
                    deps=kit.deps(template=TEMPLATE))
    first, second = kit.stub.sent("whatsapp")
    assert (first.json()["type"], second.json()["type"]) == ("text", "template")
    assert (await kit.row(inside)).customer_wrote_at == wrote


async def test_a_reply_sent_late_is_judged_by_the_time_it_carried_when_it_is_sent(
        kit: Kit) -> None:
    """A reply taken off the queue two hours after it was asked for (an outage) is judged
    at the moment it is sent: the customer wrote 23 hours before it was asked for, so by
    then the window is closed and it goes as the template."""
    asked = kit.envelope(ReplyRequested(channel="whatsapp", to=CUSTOMER, text="See you at 3.",
                                        customer_wrote_at=kit.clock.now() - hours(23)))
    kit.clock.advance(hours(2))
    await kit.handle(asked, kit.deps(template=TEMPLATE))
    [request] = kit.stub.sent("whatsapp")
    assert request.json()["type"] == "template"


async def test_outside_the_window_without_a_template_it_fails_and_staff_hear_once(
        kit: Kit) -> None:
    first = await kit.reply("Reminder: Haircut tomorrow at 3:00 PM.", purpose="reminder")
    second = await kit.reply("Reminder: Haircut in 2 hours.", purpose="reminder")
    assert kit.stub.sent("whatsapp") == []  # never free text outside the window
    for envelope in (first, second):
        row = await kit.row(envelope)
        assert (row.status, row.error) == ("failed", "outside_window_no_template")
    [alert] = staff_sms(kit.stub)
    assert alert["From"] == SALON_SMS and alert["StatusCallback"] == CALLBACK
    assert CUSTOMER in alert["Body"] and "24 hours" in alert["Body"]
    staff_rows = [r for r in await kit.rows() if r.audience == "staff"]
    assert [(r.to, r.purpose, r.status) for r in staff_rows] == [(OWNER, "alert", "sent")]


async def test_choices_are_offered_as_buttons_inside_the_window(kit: Kit) -> None:
    kit.customer_wrote(kit.clock.now() - hours(1))
    sent = await kit.reply("Shall I book it?", choices=["Yes", "No"])
    body = kit.stub.sent("whatsapp")[0].json()
    assert body["type"] == "interactive"
    assert [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]] == [
        "Yes", "No"]
    assert (await kit.row(sent)).choices == ["Yes", "No"]


async def test_sms_goes_through_twilio_with_the_status_callback(kit: Kit) -> None:
    sent = await kit.reply("Confirmed: Haircut Wed, Dec 2 at 3:00 PM.", channel="sms")
    [request] = kit.stub.sent("twilio")
    assert request.form == {"To": CUSTOMER, "From": SALON_SMS, "StatusCallback": CALLBACK,
                            "Body": "Confirmed: Haircut Wed, Dec 2 at 3:00 PM."}
    row = await kit.row(sent)
    assert (row.status, row.sent_as, row.provider_message_ids) == (
        "sent", "sms", [f"SM{1:032x}"])


# --- retries -----------------------------------------------------------------------------


async def test_429_is_retried_after_retry_after(kit: Kit) -> None:
    kit.stub.script("twilio", twilio_error(429, 20429, "Too Many Requests",
                                           headers={"Retry-After": "3"}))
    sent = await kit.reply("See you then.", channel="sms")
    first, second = kit.stub.sent("twilio")
    assert first.form == second.form  # the same request again
    assert kit.waits.seen == [3.0]
    row = await kit.row(sent)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_bounded_then_given_up_with_the_reason_and_sent_when_replayed(
        kit: Kit) -> None:
    kit.stub.script("whatsapp", *(graph_error(503, 2, "Service temporarily unavailable")
                                  for _ in range(4)))
    envelope = kit.envelope(_reply("Your booking is confirmed.",
                                   customer_wrote_at=kit.clock.now() - hours(1)))
    with pytest.raises(PermanentError, match=r"HTTP 503, error 2 .*gave up after 4 attempts"):
        await kit.handle(envelope)
    assert len(kit.stub.sent("whatsapp")) == 4 and kit.waits.seen == [0.5, 1.0, 2.0]
    row = await kit.row(envelope)
    assert row.status == "dead" and row.error is not None and "HTTP 503" in row.error
    await kit.handle(envelope)  # `receptionist dead replay notifier`, once it is back
    assert (await kit.row(envelope)).status == "sent"
    assert len(kit.stub.sent("whatsapp")) == 5


async def test_a_message_given_up_on_is_dead_lettered_with_the_reason(kit: Kit) -> None:
    kit.stub.script("twilio", *(twilio_error(500, 20500, "Internal Server Error")
                                for _ in range(2)))
    transport = MemoryTransport(full_topology("t", (10,)))
    await transport.connect()
    await transport.declare()
    consumer = Consumer("notifier", DEFINITION.routes(),
                        kit.deps(retry=RetryPolicy(attempts=2)), session_factory=kit.sessions,
                        transport=transport, clock=kit.clock)
    await consumer.start(prefetch=1)
    envelope = kit.envelope(_reply("See you.", channel="sms"))
    await transport.publish(envelope.to_json(), envelope.type,
                            message_id=str(envelope.event_id))

    letters: list[tuple[bytes, dict[str, Any]]] = []

    async def dead() -> bool:
        letters.extend(await transport.dead_letters("notifier"))  # drains them
        return bool(letters)

    await eventually(dead, what="the message in notifier's dead letters")
    [(_, headers)] = letters
    assert headers["x-dead-reason"] == "permanent"
    assert "twilio: HTTP 500, error 20500; gave up after 2 attempts" in headers["x-error"]
    await transport.stop_consuming()
    await transport.close()


# --- permanent refusals --------------------------------------------------------------------


async def test_a_number_not_on_whatsapp_is_recorded_and_staff_alerted_once(kit: Kit) -> None:
    kit.customer_wrote(kit.clock.now() - hours(1))
    kit.stub.script("whatsapp", graph_error(400, 131026, "Message undeliverable"),
                    graph_error(400, 131026, "Message undeliverable"))
    first = await kit.reply("Your booking is confirmed.")  # returns: nothing to retry
    second = await kit.reply("See you tomorrow.")
    for envelope in (first, second):
        row = await kit.row(envelope)
        assert row.status == "failed" and row.error is not None and "131026" in row.error
    [alert] = staff_sms(kit.stub)
    assert "WhatsApp" in alert["Body"] and CUSTOMER in alert["Body"]


async def test_a_landline_reported_by_the_status_callback_alerts_staff_once(kit: Kit) -> None:
    sent = await kit.reply("Confirmed.", channel="sms")
    sid = (await kit.row(sent)).provider_message_id
    assert sid is not None
    await kit.report(sid, "undelivered", channel="sms", error_code="30006")
    await kit.report(sid, "failed", channel="sms", error_code="30006")
    row = await kit.row(sent)
    assert row.status == "undelivered" and row.error == "sms reported undelivered, error 30006"
    [alert] = staff_sms(kit.stub)
    assert "landline" in alert["Body"]


async def test_a_refused_staff_alert_never_fails_the_message_behind_it(kit: Kit) -> None:
    kit.customer_wrote(kit.clock.now() - hours(1))
    kit.stub.script("whatsapp", graph_error(400, 131026, "Message undeliverable"))
    kit.stub.script("twilio", twilio_error(400, 21606, "Not an SMS-capable number"))
    sent = await kit.reply("Confirmed.")
    assert (await kit.row(sent)).status == "failed"
    staff = [r for r in await kit.rows() if r.audience == "staff"]
    assert [(r.status, r.error) for r in staff] == [("dead", "twilio: HTTP 400, error 21606")]


# --- a crash between the provider's answer and our commit ----------------------------------


class DiesAfterSending:
    """The process dies just after the provider took the message, before notifier commits
    (as a kill -9 would: nothing after the call runs)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def send(self, message: OutboundMessage) -> Sent:
        await self.inner.send(message)
        raise SystemExit("killed")


async def test_a_crash_after_the_send_leaves_the_attempt_and_a_redelivery_sends_again(
        kit: Kit) -> None:
    """Only the `sending` row survives; its redelivery sends the message once more (the one
    window for a duplicate: neither provider takes an idempotency key). Once the `sent`
    mark is committed, no redelivery sends it again."""
    envelope = kit.envelope(_reply("See you at 3.", channel="sms"))
    dying = kit.deps(channel=DiesAfterSending(kit.deps().channel))
    with pytest.raises(SystemExit):
        await kit.handle(envelope, dying)
    row = await kit.row(envelope)
    assert (row.status, row.provider_message_id) == ("sending", None)
    assert len(kit.stub.sent("twilio")) == 1
    await kit.handle(envelope)  # redelivered
    assert (await kit.row(envelope)).status == "sent"
    assert len(kit.stub.sent("twilio")) == 2
    await kit.handle(envelope, consumer="notifier-replica")  # inbox row lost as well
    assert len(kit.stub.sent("twilio")) == 2


async def test_concurrent_redeliveries_send_once(kit: Kit) -> None:
    envelope = kit.envelope(_reply("See you at 3.", channel="sms"))
    await asyncio.gather(kit.handle(envelope), kit.handle(envelope, consumer="replica"))
    assert len(kit.stub.sent("twilio")) == 1


def _reply(text: str, channel: str = "whatsapp", **fields: Any) -> ReplyRequested:
    return ReplyRequested(channel=channel, to=CUSTOMER, text=text, **fields)  # type: ignore[arg-type]
