"""Which extractor a process uses: named explicitly (the eval's `--extractor`), else Groq
when GROQ_API_KEY is set, else the offline rules (docs/architecture.md, "Adapters": offline
is the default)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from services.nlu.extractor import Extractor
from services.nlu.rules import RulesExtractor

NAMES = ("rules", "groq")


class ExtractorUnavailable(Exception):
    """Asked for an extractor this process cannot build (unknown name, no API key)."""


def make_extractor(name: str | None = None,
                   env: Mapping[str, str] | None = None) -> Extractor:
    env = os.environ if env is None else env
    chosen = name or ("groq" if env.get("GROQ_API_KEY") else "rules")
    if chosen == "rules":
        return RulesExtractor()
    if chosen == "groq":
        from services.nlu.adapters.groq import GroqExtractor

        if not env.get("GROQ_API_KEY"):
            raise ExtractorUnavailable("the groq extractor needs GROQ_API_KEY")
        return GroqExtractor.from_env(env)
    raise ExtractorUnavailable(f"unknown extractor {chosen!r}; known: {', '.join(NAMES)}")
