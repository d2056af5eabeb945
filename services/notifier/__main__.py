"""`python -m services.notifier`: outbound delivery as its own process."""

from libs.runtime import ServiceParts, run_consumer_service
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.handlers import build_handlers

if __name__ == "__main__":
    # Real WhatsApp/Twilio adapters arrive with the channels issue; until then it records.
    run_consumer_service("notifier", lambda rt: ServiceParts(build_handlers(RecordingChannel())))
