"""JSON log lines: the fields a collector indexes, the handling context on every line logged
while handling, and no phone number or secret in any part of a line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from libs.contracts.events import InboundMessageReceived
from libs.contracts.registry import InvalidEvent, make_envelope, parse_payload
from libs.logs import (
    JsonFormatter,
    MaskingFilter,
    TextFormatter,
    error_without_message,
    log_context,
    make_formatter,
    redact,
)
from libs.settings import Settings

TOKEN = "verify-me-7f3a9c"
PHONE = "+15555550101"


class Captured:
    def __init__(self, stream: io.StringIO, logger: logging.Logger) -> None:
        self.stream = stream
        self.logger = logger

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines()]


def capture(formatter: logging.Formatter, *, masking_filter: bool = True) -> Iterator[Captured]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if masking_filter:
        handler.addFilter(MaskingFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex[:8]}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield Captured(stream, logger)
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def json_log() -> Iterator[Captured]:
    yield from capture(JsonFormatter(service="nlu"))


def test_a_line_is_one_json_object_with_time_level_logger_message_service(
        json_log: Captured) -> None:
    json_log.logger.info("hello %s", "world")
    [line] = json_log.lines()
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == json_log.logger.name
    assert line["service"] == "nlu"
    assert datetime.fromisoformat(line["time"].replace("Z", "+00:00")).tzinfo is not None
    assert "correlation_id" not in line and "event_id" not in line  # not handling anything


def test_lines_logged_while_handling_carry_the_message_ids(json_log: Captured) -> None:
    correlation_id, event_id = uuid.uuid4(), uuid.uuid4()
    with log_context(service="fsm", correlation_id=correlation_id, business_id="salon",
                     event_id=event_id, message_type="nlu.message.understood.v1"):
        json_log.logger.warning("inside")
        with log_context(timer="hold:1"):
            json_log.logger.info("nested")
    json_log.logger.info("after")
    inside, nested, after = json_log.lines()
    assert inside["correlation_id"] == str(correlation_id)
    assert inside["event_id"] == str(event_id)
    assert inside["business_id"] == "salon"
    assert inside["message_type"] == "nlu.message.understood.v1"
    assert inside["service"] == "fsm"  # the consumer's name wins over the process's
    assert nested["timer"] == "hold:1" and nested["event_id"] == str(event_id)
    assert "event_id" not in after and after["service"] == "nlu"


async def test_the_context_follows_the_handler_into_threads_and_tasks(
        json_log: Captured) -> None:
    """The nlu extractor runs in a thread (`asyncio.to_thread` copies the context)."""
    event_id = uuid.uuid4()
    with log_context(event_id=event_id):
        await asyncio.to_thread(json_log.logger.info, "from a thread")
        await asyncio.create_task(asyncio.to_thread(json_log.logger.info, "from a task"))
    assert [line["event_id"] for line in json_log.lines()] == [str(event_id)] * 2


def test_phone_numbers_are_masked_in_messages_arguments_and_exceptions(
        json_log: Captured) -> None:
    json_log.logger.info("reply to %s from (212) 555-0100", PHONE)
    try:
        raise ValueError(f"cannot reach {PHONE}")
    except ValueError:
        json_log.logger.exception("send failed")
    text = json_log.text()
    assert "5555550101" not in text and "555-0100" not in text
    first, second = json_log.lines()
    assert "+1******0101" in first["message"]
    assert "ValueError" in second["exception"] and "+1******0101" in second["exception"]


def test_a_verify_token_in_a_url_never_reaches_a_line(json_log: Captured) -> None:
    url = (f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={TOKEN}"
           "&hub.challenge=1158201444")
    json_log.logger.info('127.0.0.1:5123 - "GET %s HTTP/1.1" 403', url)
    try:
        raise RuntimeError(f"while serving {url}")
    except RuntimeError:
        json_log.logger.exception("request failed")
    assert TOKEN not in json_log.text()
    first, second = json_log.lines()
    assert "hub.verify_token=***&hub.challenge=1158201444" in first["message"]
    assert "hub.verify_token=***" in second["exception"]


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()],
                         ids=["json", "text"])
def test_the_formatters_redact_on_their_own_too(formatter: logging.Formatter) -> None:
    """Without the filter (a handler added by a library, a cached exception text)."""
    for captured in capture(formatter, masking_filter=False):
        captured.logger.error("token=%s to %s", TOKEN, PHONE)
        try:
            raise ValueError(f"api_key={TOKEN} for {PHONE}")
        except ValueError:
            captured.logger.exception("boom")
        assert TOKEN not in captured.text() and "5555550101" not in captured.text()


def test_text_lines_for_people_show_the_context_in_brackets() -> None:
    for captured in capture(TextFormatter(service="notifier")):
        with log_context(business_id="salon", event_id="e-1"):
            captured.logger.info("sent sms to %s", PHONE)
        [line] = captured.text().splitlines()
        assert line.endswith("sent sms to +1******0101 [business_id=salon event_id=e-1 "
                             "service=notifier]")


@pytest.mark.parametrize(("raw", "leaked"), [
    ("GET /x?access_token=abc123&x=1", "abc123"),
    ("next=%2Fcb%3Fsignature%3Ddeadbeef01", "deadbeef01"),
    ('{"client_secret": "s3cr3t", "n": 1}', "s3cr3t"),
    ("amqp://receptionist:hunter22@rabbit:5672/", "hunter22"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "eyJhbGciOiJIUzI1NiJ9"),
    ("stripe said no to sk_live_51Habcdefghijkl", "51Habcdefghijkl"),
    ("whsec_abcdef0123456789 rejected", "abcdef0123456789"),
    ("password=correct-horse, user=bob", "correct-horse"),
])
def test_secrets_are_masked_wherever_they_appear(raw: str, leaked: str) -> None:
    assert leaked not in redact(raw)
    assert "***" in redact(raw)


def test_ordinary_text_is_left_alone() -> None:
    text = ("booking 1796000000 at 2026-11-27 08:48:40 UTC, timer key hold:abc, "
            "https://example.com/checkout/xyz?session=1")
    assert redact(text) == text


def test_an_error_without_its_message_keeps_the_type_and_where() -> None:
    def parse(text: str) -> None:
        raise ValueError(f"cannot read {text!r}")

    customer_text = " ".join(["I", "live", "at", "12", "Elm", "St"])  # not in any source line
    try:
        parse(customer_text)
    except ValueError as exc:
        described = error_without_message(exc)
    assert "Elm St" not in described
    assert "ValueError" in described and "in parse" in described


def test_an_invalid_payload_error_does_not_quote_the_customer() -> None:
    """That text reaches the consumer's error log and the dead-letter headers."""
    envelope = make_envelope(InboundMessageReceived(
        channel="sms", provider_message_id="SM1", customer=PHONE, to="+12125550100",
        text="my secret appointment", received_at=datetime.now(UTC)),
        business_id="salon", occurred_at=datetime.now(UTC))
    broken = envelope.model_copy(update={"payload": {**envelope.payload, "channel": 7,
                                                     "text": ["my secret appointment"]}})
    with pytest.raises(InvalidEvent) as caught:
        parse_payload(broken)
    assert "secret appointment" not in str(caught.value)
    assert "channel" in str(caught.value) and "text" in str(caught.value)


def test_log_format_is_json_by_default_and_checked() -> None:
    assert Settings().log_format == "json"
    assert isinstance(make_formatter("json"), JsonFormatter)
    assert isinstance(make_formatter("text"), TextFormatter)
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_formatter("xml")
    with pytest.raises(ValidationError):
        Settings(log_format="xml")
