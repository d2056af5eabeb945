"""`python -m services.nlu`: message understanding as its own process (offline rules, or
Groq when GROQ_API_KEY is set, falling back to the rules)."""

from libs.runtime.process import run_service
from services.nlu.definition import DEFINITION

if __name__ == "__main__":
    run_service(DEFINITION)
