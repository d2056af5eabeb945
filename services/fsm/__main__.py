"""`python -m services.fsm`: the conversation engine as its own process."""

from libs.runtime import run_consumer_service
from services.fsm.handlers import build_handlers

if __name__ == "__main__":
    run_consumer_service("fsm", lambda rt: build_handlers())
