"""notifier, defined once: it delivers replies, records their delivery status, and serves
the web chat's reply stream."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from libs.runtime.definition import ServiceDefinition, Wiring
from libs.webchat_tokens import WebChatTokens
from services.notifier import web
from services.notifier.adapters.by_channel import ByChannel
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.adapters.webchat import WebChatChannel
from services.notifier.handlers import HANDLERS, NotifierDeps

log = logging.getLogger(__name__)


def notifier_deps(wiring: Wiring) -> NotifierDeps:
    log.warning("notifier: no WhatsApp or Twilio credentials are wired yet; SMS and WhatsApp "
                "messages are recorded, not sent")
    recording = RecordingChannel()
    return NotifierDeps(channel=ByChannel({"web": WebChatChannel(), "sms": recording,
                                           "whatsapp": recording}))


def notifier_app(wiring: Wiring, deps: NotifierDeps) -> FastAPI:
    settings = wiring.settings
    tokens = WebChatTokens.from_secret(settings.webchat_secret, settings.webchat_session_ttl_s)
    return web.create_app(wiring.sessions, settings.webchat_origins, tokens, wiring.clock)


DEFINITION = ServiceDefinition(name="notifier", deps=notifier_deps, handlers=HANDLERS,
                               http=notifier_app)
