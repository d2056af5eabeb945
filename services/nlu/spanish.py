"""Spanish (and Spanglish) read through the English rules: a message with Spanish words is
rewritten, phrase by phrase, into the canonical English the intent, date and time patterns
already read ("quiero una cita mañana a las 3" → "i want an appointment tomorrow at 3").

Why a rewrite and not a second set of intent rules: the English layers (closings, negation,
the date attached to the request, the 1-7 pm rule, the intent order) are the hard part and
are the same in both languages; a rewrite keeps one of each. The rewrite only touches
Spanish words, so the English half of a mixed message is read as it was written.

Steps (`translate`):
1. `fold`: lower case, "sí" kept as "yes" (the accent is the only thing telling it from the
   "si" of "if"), accents dropped ("mañana" → "manana"), "¿" and "¡" dropped;
2. word by word: stretched words shrunk ("siii", "holaaa"), Spanish SMS spellings expanded
   (q, xq, tmb, pa, xfa, porfa: `spanish_words.SHORTHAND_ES`), typos of key words corrected
   ("biernes" → viernes), "si" read as "yes" or "if" from what follows;
3. phrases, in order (`services.nlu.spanish_rules`): commands, opt-out and waitlist
   requests, a person, dates and times (so "de la mañana" is a part of day before "mañana"
   can be tomorrow), then questions and requests;
4. the words left, one by one (`spanish_words.WORDS`).

Service names are not translated: the catalog's own Spanish aliases ("corte de pelo",
"limpieza facial") go through the same rewrite (`services.nlu.catalog.phrase_tokens`), so a
message and an alias always meet in the same words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from services.nlu.spanish_rules import PHRASES, WHOLE
from services.nlu.spanish_words import KEY_ES, SHORTHAND_ES, SPANISH, WORDS
from services.nlu.text import MAX_CHARS, allowed_typos, distance, known, words

_SI_ACCENT = re.compile(r"(?<!\w)s[íì](?!\w)")
_INVERTED = re.compile("[\u00bf\u00a1]")
_TOKEN = re.compile(r"[a-z0-9]+(?:[:/.][0-9]+)*|[^\sa-z0-9]")
_LAUGH = re.compile(r"^(?:ja|je|ji|js|ks){2,}j?a?$")
_RUN = re.compile(r"([a-z])\1+")
_IF_NEXT = words("""
se alguien hay queda quedan quedara hubiera tienen tienes tiene tuvieran puedes puede pueden
podrian podrias cancela cancelan algo alguno alguna es no llega sale libera abre desocupa
fuera fuese esta estan necesito necesitas quieres prefieres gustas ustedes usted tu el ella
""")
"""Words after which "si" is "if": "si alguien cancela", "si se puede", "si hay"."""
_YES_BEFORE = frozenset({",", "ok", "pues", "y", "bueno", "que", "eh", "ah", "oh", "yes",
                         "claro", "dale", "perfecto", ".", "!"})


def fold(text: str) -> str:
    """Lower case, accents dropped ("mañana" → manana), "¿" and "¡" gone; "sí" is "yes"."""
    t = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])[:MAX_CHARS].lower()
    t = _SI_ACCENT.sub(" yes ", t)
    t = _INVERTED.sub(" ", t)
    return strip_accents(t)


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(folded: str) -> list[str]:
    return _TOKEN.findall(folded)


@lru_cache(maxsize=4096)
def _word(word: str) -> str:
    """One word: shrunk if stretched, SMS spelling expanded, a key word's typo corrected."""
    if word in SPANISH or not word.isalpha():
        return SHORTHAND_ES.get(word, word)
    if _LAUGH.match(word):
        return "haha"
    if _RUN.search(word) and not known(word):  # "siii", but "all" is not "al"
        for shrunk in (_RUN.sub(r"\1", word), _RUN.sub(r"\1\1", word)):
            if shrunk in SPANISH or shrunk in SHORTHAND_ES:
                return SHORTHAND_ES.get(shrunk, shrunk)
    if word in SHORTHAND_ES:
        return SHORTHAND_ES[word]
    limit = allowed_typos(word)
    if limit == 0 or len(word) < 5:
        return word
    best, best_d = word, limit + 1
    for key in KEY_ES:
        if key[0] != word[0] and key[0] not in "bv" and key[1:2] != word[1:2]:
            continue
        d = distance(word, key, limit)
        if d < best_d:
            best, best_d = key, d
    return best


def _words(toks: list[str]) -> list[str]:
    out: list[str] = []
    alpha = sum(1 for t in toks if t.isalnum())
    for i, t in enumerate(toks):
        if t in ("q", "k", "x") and alpha < 2:
            out.append(t)  # "X" alone is the cancel command; "k" alone is ok
            continue
        if t == "x" and not (i + 1 < len(toks) and toks[i + 1].isalpha()):
            out.append(t)
            continue
        if t == "x":
            out.append("por")
            continue
        if t == "k" and (i + 1 >= len(toks) or not toks[i + 1].isalpha()):
            out.append("ok")
            continue
        out.extend(_word(t).split())
    return _si(out)


def _si(toks: list[str]) -> list[str]:
    """Unaccented "si": "if" before a clause ("si alguien cancela"), otherwise "yes"
    at the start, after "claro que", or alone."""
    out = list(toks)
    for i, t in enumerate(toks):
        if t != "si":
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        prev = toks[i - 1] if i > 0 else ""
        if nxt in _IF_NEXT:
            out[i] = "if"
        elif i == 0 or prev in _YES_BEFORE or not nxt or not nxt.isalnum():
            out[i] = "yes"
        else:
            out[i] = "if"
    return out


def translate(text: str) -> str:
    """The message in the canonical English the rules read (module doc)."""
    toks = _words(tokens(fold(text)))
    bare = " ".join(t for t in toks if t.isalnum())
    whole = WHOLE.get(bare)
    if whole is not None:
        return whole
    s = f" {' '.join(toks)} "
    for pattern, repl in PHRASES:
        changed = pattern.sub(repl, s)
        if changed != s:
            s = f" {' '.join(changed.split())} "  # one space between words, for the next rule
    return " ".join(w for w in (WORDS.get(w, w) for w in s.split()) if w)
