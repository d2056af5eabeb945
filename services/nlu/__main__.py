"""`python -m services.nlu`: message understanding as its own process (offline rules, or
Groq when GROQ_API_KEY is set, falling back to the rules)."""

from libs.runtime import ServiceParts, run_consumer_service
from services.nlu.handlers import build_handlers

if __name__ == "__main__":
    run_consumer_service("nlu", lambda rt: ServiceParts(build_handlers()))
