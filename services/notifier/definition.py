"""notifier, defined once: it delivers replies, records their delivery status, and serves
the web chat's reply stream.

The adapters are chosen here from the settings (blank counts as unset):

- WhatsApp: `WhatsAppCloudChannel` when `WHATSAPP_ACCESS_TOKEN` is set, reaching
  `WHATSAPP_API_BASE_URL`/`WHATSAPP_API_VERSION`;
- SMS (and staff alerts): `TwilioSmsChannel` when `TWILIO_ACCOUNT_SID` and
  `TWILIO_AUTH_TOKEN` are set, reaching `TWILIO_API_BASE_URL` (empty: Twilio's), with the
  status callback on `PUBLIC_BASE_URL`;
- web chat: always `WebChatChannel`.

A channel without credentials gets the recording channel (recorded in the message log,
never sent), and the process says so once, at start.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from libs.contracts.events import InboundMessageReceived
from libs.runtime.definition import ServiceDefinition, Wiring
from libs.settings import Settings
from libs.webchat_tokens import WebChatTokens
from services.notifier import web
from services.notifier.adapters.base import OutboundChannel, Template
from services.notifier.adapters.by_channel import ByChannel
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.adapters.twilio_sms import HttpxTwilioClient, TwilioSmsChannel
from services.notifier.adapters.webchat import WebChatChannel
from services.notifier.adapters.whatsapp import WhatsAppCloudChannel
from services.notifier.handlers import HANDLERS, NotifierDeps, prune_notifier
from services.notifier.sending import RetryPolicy

log = logging.getLogger(__name__)

TWILIO_STATUS_PATH = "/webhooks/twilio/status"


def _set(value: str | None) -> str | None:
    """A blank value counts as unset."""
    return value.strip() if value and value.strip() else None


def provider_channels(settings: Settings) -> dict[str, OutboundChannel]:
    """The real senders whose credentials are configured, by channel."""
    found: dict[str, OutboundChannel] = {}
    token = _set(settings.whatsapp_access_token)
    if token:
        found["whatsapp"] = WhatsAppCloudChannel(
            token, base_url=settings.whatsapp_api_base_url,
            api_version=settings.whatsapp_api_version,
            timeout_s=settings.notifier_request_timeout_s)
    sid, auth = _set(settings.twilio_account_sid), _set(settings.twilio_auth_token)
    if sid and auth:
        callback = None
        if "public_base_url" in settings.model_fields_set:
            callback = settings.public_base_url.rstrip("/") + TWILIO_STATUS_PATH
        else:
            log.warning("notifier: PUBLIC_BASE_URL is not set, so SMS are sent without a "
                        "status callback (no delivery statuses for SMS)")
        found["sms"] = TwilioSmsChannel(sid, auth, status_callback=callback,
                                        http_client=HttpxTwilioClient(
                                            base_url=settings.twilio_api_base_url,
                                            timeout_s=settings.notifier_request_timeout_s))
    return found


def default_template(settings: Settings) -> Template | None:
    name = _set(settings.whatsapp_template_name)
    return Template(name, settings.whatsapp_template_language.strip() or "en_US") \
        if name else None


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(attempts=settings.notifier_send_attempts,
                       budget_s=settings.notifier_retry_budget_s)


def describe(channels: dict[str, OutboundChannel]) -> str:
    return "; ".join(f"{name}: {type(adapter).__name__}"
                     for name, adapter in sorted(channels.items()))


def notifier_deps(wiring: Wiring) -> NotifierDeps:
    settings = wiring.settings
    real = provider_channels(settings)
    recording = RecordingChannel()
    channels: dict[str, OutboundChannel] = {"web": WebChatChannel(), "sms": recording,
                                            "whatsapp": recording, **real}
    missing = [name for name in ("sms", "whatsapp") if name not in real]
    if missing:
        needs = {"sms": "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
                 "whatsapp": "WHATSAPP_ACCESS_TOKEN"}
        log.warning("notifier: no credentials for %s (%s): those messages are recorded, not "
                    "sent", " or ".join(missing), "; ".join(needs[m] for m in missing))
    log.info("notifier channels: %s", describe(channels))
    return NotifierDeps(channel=ByChannel(channels), retry=retry_policy(settings),
                        template=default_template(settings))


def notifier_app(wiring: Wiring, deps: NotifierDeps) -> FastAPI:
    settings = wiring.settings
    tokens = WebChatTokens.from_secret(settings.webchat_secret, settings.webchat_session_ttl_s)
    return web.create_app(wiring.sessions, settings.webchat_origins, tokens, wiring.clock)


DEFINITION = ServiceDefinition(name="notifier", deps=notifier_deps, handlers=HANDLERS,
                               http=notifier_app, prune=prune_notifier,
                               retired=frozenset({InboundMessageReceived.TYPE}))
"""`retired`: it consumed every customer message to keep WhatsApp's 24-hour window, which
now comes with each reply (`ReplyRequested.customer_wrote_at`)."""
