"""Text clean-up shared by the rules: one canonical spelling of an SMS, so every pattern
downstream is written once (lower case, no apostrophes, SMS shorthand expanded, typos of
the words we key on corrected)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 600
"""Longer messages are read from their start only: keeps every pattern's cost bounded (an
SMS is 160 characters; what a customer wants comes first)."""

_EMOJI_WORDS = {
    "👍": " yes ", "👌": " yes ", "✅": " yes ", "🆗": " ok ", "✔": " yes ", "☑": " yes ",
    "🙏": " thanks ", "👎": " no ", "❌": " no ", "👋": " hi ",
}
_APOS = re.compile("[\u2018\u2019\u02bc`\u00b4]")
_MERIDIEM = re.compile(r"(?:(?<=\d)|\b)([ap])\.\s?m\.?(?![a-z])")
_INNER_APOS = re.compile(r"(?<=[a-z])'(?=[a-z])")
_IS_CONTRACTION = re.compile(
    r"\b(time|day|date|that|it|there|here|where|when|how|who|what|price|address|which)'s\b")
_POSSESSIVE = re.compile(r"(?<=[a-z])'s\b")
_DOT_TIME = re.compile(r"\b(\d{1,2})\.(\d{2})(?=\s*(?:[ap]m?\b|$|\s))")
_NON_WORD = re.compile(r"[^a-z0-9:/@$+&?!\s]+")
_SPLIT_PUNCT = re.compile(r"([?!&+@$])")
_SPACES = re.compile(r"\s+")

def words(text: str) -> frozenset[str]:
    """A word list written as prose-wrapped text, so long lists stay readable."""
    return frozenset(text.split())


# SMS spellings → the word the patterns use. Applied per token, before typo correction.
SHORTHAND: dict[str, str] = {
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tmw": "tomorrow",
    "tomm": "tomorrow", "tmo": "tomorrow", "tmro": "tomorrow", "2morrow": "tomorrow",
    "2moro": "tomorrow", "2morow": "tomorrow", "2mrw": "tomorrow", "2mrrw": "tomorrow",
    "2day": "today", "tdy": "today", "2nite": "tonight", "2night": "tonight",
    "tonite": "tonight", "tnite": "tonight", "tonigt": "tonight",
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday",
    "weds": "wednesday", "thu": "thursday", "thur": "thursday", "thurs": "thursday",
    "thr": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday",
    "appt": "appointment", "appts": "appointments", "apt": "appointment",
    "apts": "appointments", "appnt": "appointment", "appmt": "appointment",
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
    "plez": "please", "pleas": "please", "thx": "thanks", "thnx": "thanks", "thanx": "thanks",
    "thks": "thanks", "tx": "thanks", "ty": "thank you", "tysm": "thank you", "tyvm": "thank you",
    "k": "ok", "kk": "ok", "okk": "ok", "okok": "ok", "okey": "ok", "okie": "ok", "okay": "ok",
    "oky": "ok", "yess": "yes", "yesss": "yes", "yas": "yes", "ye": "yes",
    "yea": "yeah", "yeh": "yeah", "yah": "yeah", "yh": "yeah", "ys": "yes",
    "noo": "no", "nooo": "no", "naw": "nah", "nahh": "nah",
    "wanna": "want to", "gonna": "going to", "gotta": "got to", "hafta": "have to",
    "cant": "cannot", "wont": "will not", "dont": "do not", "didnt": "did not",
    "doesnt": "does not", "isnt": "is not", "im": "i am", "id": "i would", "ill": "i will",
    "ive": "i have", "whats": "what is", "wats": "what is", "wat": "what", "wut": "what",
    "wheres": "where is", "whens": "when is", "hows": "how is", "thats": "that is",
    "theres": "there is", "its": "it is", "lets": "let us", "yall": "you all",
    "nxt": "next", "b4": "before", "w/": "with", "abt": "about", "bc": "because",
    "rn": "right now", "asap": "as soon as possible", "hr": "hour", "hrs": "hours",
    "mins": "minutes", "min": "minutes", "thru": "through", "tho": "though", "nvm": "never mind",
    "resched": "reschedule", "reschdule": "reschedule", "rescedule": "reschedule",
    "cancl": "cancel", "canx": "cancel", "cxl": "cancel", "addy": "address", "loc": "location",
    "srv": "service", "svc": "service", "ppl": "people", "pic": "picture",
    "aftn": "afternoon", "arvo": "afternoon", "nite": "night", "mornin": "morning",
    "mrng": "morning", "morn": "morning", "avail": "available", "rdy": "ready",
    "wya": "where you at", "wsg": "what is good", "wassup": "what is up",
}

# The words the intent and date patterns key on: a typo of one of these is read as it.
VOCAB: frozenset[str] = words("""
appointment appointments booking bookings schedule reschedule cancel cancelled cancelling
cancellation tomorrow today tonight monday tuesday wednesday thursday friday saturday sunday
mondays tuesdays wednesdays thursdays fridays saturdays sundays morning afternoon evening
january february march april june july august september october november december available
availability opening openings please thanks thank location located address directions
parking price prices pricing much cost deposit hours open close closing services service
offer someone somebody person human manager receptionist representative reserve postpone
unsubscribe texting messaging confirm confirmed perfect sounds great appreciate anything
something another different weekend instead actually possible afternoon noon midnight oclock
book booked
""")

COMMON: frozenset[str] = words("""
a about above after again against all also am an and any anyone are around as at away back
be because been before being below best better between both but by call called came can
cannot car card cash change chose come coming could day days did do does doing done down
each early else even ever every few find fine first for free from get gets getting give go
going good got great had has have having he hello help her here hey hi him his home how i if
in into is it just keep kid kids know last late later leave left let like little long look
looking lot make many may maybe me mean mine more most my need never new next nice night no
not now of off oh ok on once one only or other our out over own people place please put
quick rather really right same say see seen she should show since so some soon sorry still
such sure take tell than that the their them then there these they thing think this those
though through time times to too try two under until up upon us use very wait want was way
we week weeks well went were what when where which while who why will wish with work works
would yeah year yes yet you your yours actually house hour hours hair shop store cute cuts
face fade made mode shave share shape shade trim tim tie bread heard beard beards close
clause wear ware hear hearing sore star start stop stops story open oven eve offer often
tonight tonite closed closes closing opens opened opening booked books booking cancels costs
charged prices priced services served serve located locate parked parks thanked thanking
schedules scheduled confirms reserved moved moves changed changes dates timed
""")


def _dl_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (transpositions count 1), stopping past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)]


def distance(a: str, b: str, limit: int = 2) -> int:
    return _dl_distance(a, b, limit)


def allowed_typos(word: str) -> int:
    """How many edits a word of this length may carry and still be read as another."""
    n = len(word)
    if n < 4:
        return 0
    if n < 8:
        return 1
    return 2


def _by_initial(vocab: frozenset[str]) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for w in vocab:
        index.setdefault(w[0], []).append(w)
        if len(w) > 1:
            index.setdefault(w[1], []).append(w)
    return {k: tuple(sorted(set(v))) for k, v in index.items()}


_VOCAB_BY_INITIAL = _by_initial(VOCAB)


def foreign_script(text: str) -> bool:
    """Mostly letters outside the Latin alphabet: our English rules cannot read it."""
    latin = other = 0
    for ch in text[:MAX_CHARS]:
        if ch.isalpha():
            if ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"):
                latin += 1
            else:
                other += 1
    return other > latin


@lru_cache(maxsize=8192)
def correct_word(word: str) -> str:
    """A typo of a key word, read as that word; any other word unchanged."""
    if word in VOCAB or word in COMMON or not word.isalpha():
        return word
    if allowed_typos(word) == 0:
        return word
    best = word
    best_d = 3
    for cand in _VOCAB_BY_INITIAL.get(word[0], ()):
        if cand[0] != word[0] and cand[:2] != word[1::-1]:
            continue
        limit = allowed_typos(cand if len(cand) > len(word) else word)
        d = _dl_distance(word, cand, limit)
        if d <= limit and d < best_d:
            best, best_d = cand, d
    return best


def normalize(text: str) -> str:
    """Lower-cased, apostrophe-free, one-space text; emoji that carry a yes/no/thanks become
    words. Everything else that is not a letter, digit or a few meaningful signs is a space."""
    t = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])[:MAX_CHARS]
    for emoji, word in _EMOJI_WORDS.items():
        if emoji in t:
            t = t.replace(emoji, word)
    t = _APOS.sub("'", t).lower()
    t = _MERIDIEM.sub(r"\1m", t)
    t = _IS_CONTRACTION.sub(r"\1 is", t)
    t = _POSSESSIVE.sub("", t)
    t = _INNER_APOS.sub("", t)
    t = _DOT_TIME.sub(r"\1:\2", t)
    t = t.replace("'", " ")
    t = _NON_WORD.sub(" ", t)
    t = _SPLIT_PUNCT.sub(r" \1 ", t)
    return _SPACES.sub(" ", t).strip()


def expand(words: list[str]) -> list[str]:
    """Shorthand expanded and key-word typos corrected, word by word."""
    out: list[str] = []
    for w in words:
        rep = SHORTHAND.get(w)
        if rep is not None:
            out.extend(rep.split())
        elif w.isalpha():
            out.append(correct_word(w))
        else:
            out.append(w)
    return out
