"""`python -m services.admin`: the admin API and dashboard as their own process."""

from libs.runtime.process import run_service
from services.admin.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
