"""`python -m services.payments`: deposits as their own process."""

from libs.runtime.process import run_service
from services.payments.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
