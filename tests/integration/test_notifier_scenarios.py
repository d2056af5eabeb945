"""The public scenarios over all three channels with notifier's real senders: every message
goes through the WhatsApp Cloud API and Twilio adapters to the local provider stub (web
chat through its own channel), and each scenario must pass as it does with the recording
channel. A scenario written for SMS is played as written, then again on WhatsApp and on web
chat (its default channel changed; steps that name a channel keep it).

Runs when the outside set (`../shared`) is beside the clone; in-memory bus only (the
RabbitMQ run of the same scenarios is tests/integration/test_scenarios.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from receptionist.scenarios.driver import DriverFactory
from receptionist.scenarios.runner import run_file
from receptionist.scenarios.system import driver_factory
from services.notifier.adapters.base import OutboundMessage, Sent, Template
from services.notifier.adapters.by_channel import ByChannel
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.adapters.twilio_sms import HttpxTwilioClient, TwilioSmsChannel
from services.notifier.adapters.webchat import WebChatChannel
from services.notifier.adapters.whatsapp import WhatsAppCloudChannel
from services.notifier.handlers import NotifierDeps
from tests.helpers import SHARED
from tests.integration.test_scenarios import NOT_BUILT_YET, SHARED_BUSINESSES
from tests.unit.notifier.provider_stubs import (
    ACCESS_TOKEN,
    ACCOUNT_SID,
    AUTH_TOKEN,
    MessagingStub,
)

pytestmark = pytest.mark.integration

PUBLIC = [p for p in sorted((SHARED / "scenarios").glob("*.yaml"))
          if p.name not in NOT_BUILT_YET]
CHANNELS = ("sms", "whatsapp", "web")
TEMPLATE = Template("appointment_update", "en_US")


class ThroughProviders(RecordingChannel):
    """Sends through the real adapters, and records what the provider took (the scenario
    runner reads the record)."""

    def __init__(self, stub: MessagingStub) -> None:
        super().__init__()
        self.providers = ByChannel({
            "whatsapp": WhatsAppCloudChannel(ACCESS_TOKEN, base_url=stub.url, timeout_s=5),
            "sms": TwilioSmsChannel(ACCOUNT_SID, AUTH_TOKEN,
                                    status_callback="https://r.test/webhooks/twilio/status",
                                    http_client=HttpxTwilioClient(base_url=stub.url,
                                                                  timeout_s=5)),
            "web": WebChatChannel()})

    async def send(self, message: OutboundMessage) -> Sent | str:  # type: ignore[override]
        answer = await self.providers.send(message)
        self.sent.append(message)
        return answer


async def no_wait(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def stub() -> Iterator[MessagingStub]:
    with MessagingStub() as running:
        yield running


@pytest.fixture(scope="module")
async def through_providers(server_database_url: str,
                            stub: MessagingStub) -> AsyncIterator[DriverFactory]:
    factory, databases = driver_factory(
        database_url=server_database_url,
        notifier=lambda: NotifierDeps(channel=ThroughProviders(stub), template=TEMPLATE,
                                      sleep=no_wait))
    yield factory
    await databases.close()


def on_channel(path: Path, channel: str, folder: Path) -> Path:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["channel"] = channel
    moved = folder / f"{path.stem}_{channel}.yaml"
    moved.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                     encoding="utf-8")
    return moved


def cases() -> list[Any]:
    if not PUBLIC:
        return [pytest.param(None, None, id="public", marks=pytest.mark.skip(
            reason="the outside acceptance set (../shared) is not beside this clone"))]
    return [pytest.param(p, channel, id=f"{p.stem}-{channel}")
            for p in PUBLIC for channel in CHANNELS]


@pytest.mark.parametrize(("path", "channel"), cases())
async def test_public_scenario_through_the_real_senders(
        path: Path, channel: str, through_providers: DriverFactory, stub: MessagingStub,
        tmp_path: Path) -> None:
    before = len(stub.requests)
    result = await run_file(on_channel(path, channel, tmp_path), through_providers,
                            SHARED_BUSINESSES)
    assert result.passed, "\n".join(result.lines())
    reached = {r.provider for r in stub.requests[before:]}
    if channel == "whatsapp":
        assert "whatsapp" in reached, "no WhatsApp request reached the stub"
    if channel == "sms":
        assert "twilio" in reached, "no Twilio request reached the stub"
