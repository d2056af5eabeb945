"""`python -m services.notifier`: outbound delivery as its own process."""

from libs.runtime.process import run_service
from services.notifier.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
