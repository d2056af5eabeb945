"""`python -m services.fsm`: the conversation engine as its own process."""

from libs.runtime import ServiceParts, run_consumer_service
from services.fsm.handlers import build_handlers, on_timer

if __name__ == "__main__":
    run_consumer_service("fsm", lambda rt: ServiceParts(build_handlers(), timers=on_timer))
