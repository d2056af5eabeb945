"""The language a message is written in, read from that message alone (docs/nlu.md,
"Language").

Each word is counted as Spanish (`spanish_words.SPANISH`, or a word with a Spanish accent),
English (common English words that are not Spanish) or neither (numbers, times, "ok", "no",
"me", a one-letter command, an emoji, a name we do not know). The reading is the language
with more words; with no word of either, or as many of each, it is None: the message
carries no language signal, and the customer's language stays what it was. That is the
per-message half of the hysteresis; fsm keeps the customer's language and changes it only
on a clear reading, so "ok" or "3pm" in a Spanish conversation changes nothing, while a
message written in English switches back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from libs.contracts.vocabulary import Language
from services.nlu.english import WORDS as ENGLISH
from services.nlu.spanish import strip_accents, tokens
from services.nlu.spanish_rules import PHRASES
from services.nlu.spanish_words import SPANISH as LISTED, WORDS
from services.nlu.text import COMMON, MAX_CHARS, SHORTHAND, SOCIAL, words

_RUN = re.compile(r"([a-z])\1+")
_ACCENTED = re.compile("[\u00e1\u00e9\u00ed\u00f3\u00fa\u00f1\u00fc\u00bf\u00a1]")
NEUTRAL: frozenset[str] = words("""
ok okay k kk no me a y o am pm lol haha hahaha jk xd ya yo son come once sale van red pan
fin dice mesa plaza taco tacos siesta solo era real normal final hotel hospital doctor
color facial bye ya yo pie dan da chance robot primer favor media sin todo fin fines tons
ps pos toy pal sea nada
""")
"""Words both languages use: no signal either way (SPANISH is checked first, so a word in
both lists counts as Spanish)."""
ALONE: frozenset[str] = words("sale simon orale")
"""Spanish replies that are English words too ("sale" is "deal!"): Spanish when alone."""
_ENGLISH_SHORT: frozenset[str] = words("""
i you u my your is are was were be at to for on in of and or the an it its this that with
can could would will do does did have has get got want need please pls thanks thank thx ty
yes yeah yep yup nope hi hey hello what when where how which who why tomorrow today tonight
morning afternoon evening appointment appt book cancel reschedule open time day next just
like but so if up out also not any there here we us our they them he she him her his im
dont cant wont lets let see go come make take give tell know sure cool great good fine
""")




def _english(word: str) -> bool:
    return word in _ENGLISH_SHORT or word in COMMON or word in ENGLISH or word in SOCIAL \
        or word in SHORTHAND


def _rewritten() -> frozenset[str]:
    """Every word the Spanish rewrite knows (its word list and the words of its phrase rules),
    less the English and neutral ones among them: a word we rewrite is a Spanish word."""
    found = set(WORDS)
    for pattern, _ in PHRASES:
        found.update(re.findall(r"(?<![\\?])\b[a-z]{4,}\b", pattern.pattern))
    return frozenset(w for w in found if not _english(w) and w not in NEUTRAL)


SPANISH: frozenset[str] = LISTED | _rewritten()
"""The words that count as Spanish: the listed ones and those the rewrite knows."""


@dataclass(frozen=True, slots=True)
class Reading:
    """How many words of each language a message has, and the language that follows."""

    spanish: int
    english: int

    @property
    def language(self) -> Language | None:
        if self.spanish > self.english:
            return "es"
        if self.english > self.spanish:
            return "en"
        return None


def read_language(text: str) -> Reading:
    """Count the Spanish and English words of a message (module doc)."""
    es = len(_ACCENTED.findall(text.lower()))
    en = 0
    toks = tokens(strip_accents(text[:MAX_CHARS].lower()))
    if len(toks) <= 3 and [t for t in toks if t.isalpha()] in ([w] for w in ALONE):
        return Reading(es + 1, 0)
    for word in toks:
        if not word.isalpha() or len(word) == 1:
            continue
        if word in SPANISH:
            es += 1
        elif word in NEUTRAL:
            continue
        elif _english(word):
            en += 1
        elif _RUN.search(word) and _RUN.sub(r"\1", word) in SPANISH:
            es += 1  # "siii", "holaaa": stretched for emphasis
    return Reading(es, en)
