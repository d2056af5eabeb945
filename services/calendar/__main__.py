"""`python -m services.calendar`: Google Calendar sync as its own process."""

from libs.runtime.process import run_service
from services.calendar.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
