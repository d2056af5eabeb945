"""`python -m services.reminders`: reminders as their own process."""

from libs.runtime.process import run_service
from services.reminders.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
