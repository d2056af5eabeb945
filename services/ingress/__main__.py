"""`python -m services.ingress`: the webhook endpoints as their own process (uvicorn on
HTTP_HOST:HTTP_PORT)."""

from libs.runtime.process import run_service
from services.ingress.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
