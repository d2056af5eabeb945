"""`python -m services.fsm`: the conversation engine as its own process."""

from libs.runtime.process import run_service
from services.fsm.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
