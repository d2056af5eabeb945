"""Bounded retries (each wait computed, Retry-After honoured, never waited for real), the
status ranks, and the adapters notifier picks from its settings."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from libs.bus.faults import is_transient
from libs.settings import Settings
from services.notifier.adapters.base import OutboundMessage, Rejected, Retryable, Sent
from services.notifier.adapters.by_channel import ByChannel
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.adapters.twilio_sms import TwilioSmsChannel
from services.notifier.adapters.webchat import WebChatChannel
from services.notifier.adapters.whatsapp import WhatsAppCloudChannel
from services.notifier.definition import default_template, provider_channels, retry_policy
from services.notifier.sending import GaveUp, RetryPolicy, send_with_retries
from services.notifier.statuses import advances, unreachable

MESSAGE = OutboundMessage(business_id="salon", channel="sms", to="+15555550101", text="hi",
                          audience="customer", sender="+12125550100")


class Flaky:
    """Fails with the given errors, in order, then sends."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def send(self, message: OutboundMessage) -> Sent:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return Sent(ids=(f"SM{self.calls}",), sent_as="sms")


class Waits:
    def __init__(self) -> None:
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)


async def test_retry_after_is_honoured_and_backoff_fills_in() -> None:
    channel, waits = Flaky(Retryable("429", retry_after=7), Retryable("503")), Waits()
    sent, calls = await send_with_retries(channel, MESSAGE, RetryPolicy(), waits)
    assert (sent.ids, calls, channel.calls) == (("SM3",), 3, 3)
    assert waits.seen == [7.0, 1.0]  # the provider's 7 s, then the backoff's second step


async def test_bounded_by_attempts_then_given_up_with_the_reason() -> None:
    channel, waits = Flaky(*(Retryable("twilio: HTTP 503") for _ in range(9))), Waits()
    with pytest.raises(GaveUp) as gave_up:
        await send_with_retries(channel, MESSAGE, RetryPolicy(attempts=4), waits)
    assert channel.calls == 4 and waits.seen == [0.5, 1.0, 2.0]
    assert gave_up.value.attempts == 4
    assert gave_up.value.reason == "twilio: HTTP 503; gave up after 4 attempts"


async def test_bounded_by_the_waiting_budget() -> None:
    channel, waits = Flaky(Retryable("429", retry_after=20), Retryable("429", retry_after=20)), \
        Waits()
    with pytest.raises(GaveUp, match="waiting 20 s more would pass the 30 s budget"):
        await send_with_retries(channel, MESSAGE, RetryPolicy(budget_s=30), waits)
    assert channel.calls == 2 and waits.seen == [20.0]


async def test_other_errors_are_not_retried_here() -> None:
    channel, waits = Flaky(Rejected("twilio: HTTP 401, error 20003")), Waits()
    with pytest.raises(Rejected):
        await send_with_retries(channel, MESSAGE, RetryPolicy(), waits)
    assert channel.calls == 1 and waits.seen == []


def test_a_retryable_provider_error_counts_as_transient() -> None:
    assert is_transient(Retryable("503"))
    assert not is_transient(Rejected("401"))


@pytest.mark.parametrize(("current", "reported", "moves"), [
    ("sending", "sent", True), ("sent", "delivered", True), ("delivered", "read", True),
    ("delivered", "sent", False), ("read", "delivered", False), ("sent", "queued", False),
    ("sent", "failed", True), ("delivered", "failed", False), ("failed", "delivered", True),
    ("failed", "undelivered", False), ("suppressed", "delivered", False),
    ("dead", "sent", False),
])
def test_statuses_only_move_forward(current: str, reported: str, moves: bool) -> None:
    assert advances(current, reported) is moves


def test_which_failures_mean_the_customer_cannot_be_reached() -> None:
    assert unreachable("whatsapp", "failed", "131026")
    assert unreachable("sms", "undelivered", "30006")  # a landline
    assert not unreachable("sms", "undelivered", "30003")  # handset off: may work later
    assert not unreachable("whatsapp", "delivered", "131026")


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_no_credentials_no_provider_channels() -> None:
    assert provider_channels(settings(twilio_auth_token="only-for-webhooks",
                                      whatsapp_access_token="  ")) == {}


def test_credentials_choose_the_real_senders() -> None:
    found = provider_channels(settings(
        twilio_account_sid="AC1", twilio_auth_token="t", whatsapp_access_token="EAAG",
        public_base_url="https://r.example.com", twilio_api_base_url="http://127.0.0.1:9"))
    assert isinstance(found["whatsapp"], WhatsAppCloudChannel)
    sms = found["sms"]
    assert isinstance(sms, TwilioSmsChannel)
    assert sms.status_callback == "https://r.example.com/webhooks/twilio/status"


def test_template_and_retry_bounds_come_from_settings() -> None:
    assert default_template(settings()) is None
    template = default_template(settings(whatsapp_template_name="appointment_update",
                                         whatsapp_template_language="es_MX"))
    assert template is not None and (template.name, template.language) == (
        "appointment_update", "es_MX")
    assert retry_policy(settings(notifier_send_attempts=2, notifier_retry_budget_s=5)) == \
        RetryPolicy(attempts=2, budget_s=5)


def test_without_credentials_the_recording_channel_is_said_once(
        caplog: pytest.LogCaptureFixture) -> None:
    from services.notifier import definition

    class Wired:
        settings = Settings(_env_file=None, whatsapp_access_token="EAAG")

    with caplog.at_level(logging.INFO, logger="services.notifier.definition"):
        deps = definition.notifier_deps(Wired())  # type: ignore[arg-type]
    channels = deps.channel.channels if isinstance(deps.channel, ByChannel) else {}
    assert isinstance(channels["sms"], RecordingChannel)
    assert isinstance(channels["whatsapp"], WhatsAppCloudChannel)
    assert isinstance(channels["web"], WebChatChannel)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no credentials for sms" in warnings[0]
    assert "TWILIO_ACCOUNT_SID" in warnings[0]


def test_a_profile_may_name_its_whatsapp_template() -> None:
    from libs.business.fixtures import default_businesses_dir
    from libs.business.profile import ProfileError, load_profile, parse_profile

    data = load_profile(default_businesses_dir() / "salon.yaml").to_json_dict()
    data["channels"]["whatsapp_template"] = {"name": "appointment_update"}
    template = parse_profile(data).channels.whatsapp_template
    assert template is not None and (template.name, template.language) == (
        "appointment_update", "en_US")
    data["channels"]["whatsapp_template"] = {"name": "Appointment Update", "lang": "en"}
    with pytest.raises(ProfileError) as refused:
        parse_profile(data)
    assert refused.value.problems == [
        "channels.whatsapp_template.name: string should match pattern '^[a-z0-9_]{1,512}$'",
        "channels.whatsapp_template.lang: unknown key"]


def test_the_demo_sends_for_real_only_what_env_has_credentials_for() -> None:
    import io

    from receptionist.demo import ConsoleChannel, overrides

    out = io.StringIO()
    chosen = overrides(None, None, None, "https://demo.example.com", "whsec_x",  # type: ignore[arg-type]
                       None, out, settings=settings(whatsapp_access_token="EAAG",  # type: ignore[arg-type]
                                                    whatsapp_app_secret="s",
                                                    whatsapp_verify_token="v"))
    channels = chosen["notifier"].channel.channels
    assert isinstance(channels["whatsapp"], WhatsAppCloudChannel)
    assert isinstance(channels["sms"], ConsoleChannel)
    assert out.getvalue() == "whatsapp: messages are sent for real (credentials in the " \
                             "environment)\n"
    config = chosen["ingress"].config
    assert (config.whatsapp_app_secret, config.twilio_auth_token) == ("s", None)
    offline = overrides(None, None, None, "http://localhost:8000", "whsec_x",  # type: ignore[arg-type]
                        None, io.StringIO(), settings=settings())  # type: ignore[arg-type]
    assert all(isinstance(offline["notifier"].channel.channels[c], ConsoleChannel)
               for c in ("sms", "whatsapp"))
