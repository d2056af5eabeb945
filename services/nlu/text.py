"""Text clean-up shared by the rules: one canonical spelling of an SMS, so every pattern
downstream is written once.

`normalize` works on the characters: lower case, no apostrophes ("let's" is "let us"),
emoji that carry a word, a dashed range said as one ("2-4pm" is "between 2 and 4pm"), and
the SMS digits that stand for words ("4 a trim", "need 2 cancel", "2moro", "c u", "#2").
`expand` works word by word: letters held down for emphasis are dropped ("yeahhh",
"nopeee"), a dropped g is put back ("lookin"), shorthand is expanded (`SHORTHAND`: tmrw,
thx, appt, wknd, lmk...), and a typo of a key word is corrected, unless the word is a
common English word in its own right (`is_common`: "trip" is not a typo of "trim")."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from services.nlu.english import WORDS as ENGLISH

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
_LETS = re.compile(r"\blet's\b")
_DOT_TIME = re.compile(r"\b(\d{1,2})\.(\d{2})(?=\s*(?:[ap]m?\b|$|\s))")
_NON_WORD = re.compile(r"[^a-z0-9:/@$+&?!\s]+")
_SPLIT_PUNCT = re.compile(r"([?!&+@$])")
_SPACES = re.compile(r"\s+")
_THAN = re.compile(r"\b(no )?(earlier|later|sooner) than\b")
"""A bound said as a comparison ("later than 5", "no later than 11"): said as after/before."""
_NOON_IN_RANGE = re.compile(
    r"\b(?:between|from) (?:noon|\d{1,2}(?::\d\d)?(?: ?[ap]m?)?) (?:and|to|till|until) "
    r"(?:noon|\d{1,2}(?::\d\d)?(?: ?[ap]m?)?)\b")
"""Noon as an end of a range ("between 9 and noon") is 12, an hour the range reads."""
_RANGE_TO = re.compile(
    r"(?<![\w:@$])((?:1[0-2]|0?[1-9])(?::[0-5]\d)?(?:\s?[ap]m?\b)?) (?:to|till|til|until) "
    r"((?:1[0-2]|0?[1-9])(?::[0-5]\d)?(?:\s?[ap]m?\b)?)(?![\d/:]| ?(?:days?|weeks?|hours?|hrs?|"
    r"mins?|minutes|months?|years?|people|ppl|kids|of|cuts|haircuts|appointments?|spots?|slots?|"
    r"times|sessions?|visits?|boys|girls|guys|men|adults|children|sons|daughters|dollars|bucks)"
    r"\b)")
"""A range said with "to" ("2 to 4 works"); not after a move ("change my 3 to 4")."""
_MOVED = frozenset({"move", "moving", "moved", "change", "changing", "push", "switch", "bump",
                    "resched", "reschedule", "it", "my", "appt", "appointment", "from", "between",
                    "booking", "that", "the"})
_RANGE_DASH = re.compile(
    r"\b((?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s?(?:[ap]m?\b)?)\s?(?:-|\u2013|\u2014)\s?"
    r"((?:1[0-2]|0?[1-9])(?::[0-5]\d)?(?:\s?[ap]m?)?)(?![\d/:-])")
"""A range typed with a dash ("2-4pm", "10a-12p"): said as "between 2 and 4pm"."""
_NUM_FOR = re.compile(
    r"(?<![@:\d])(?:^|(?<=\s))4 (?=(?:a|an|the|my|me|us|you|u|him|her|them|it|that|this|"
    r"today|tomorrow|"
    r"tmrw|tmr|2moro|2day|tonight|now|next|real|sure|some|sum|ur|your|kids?)\b)")
"""SMS "4" meaning "for" ("book me 4 a trim"), only before a word a time never precedes."""
_FOR_DAY = re.compile(
    r"\b(me|us|him|her|them|appt|appointment|it|spot|slot|list|waitlist|in) 4 (?=(?:mon|tue|"
    r"tues|wed|weds|thu|thur|thurs|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday)\b)")
"""... and before a day after "me", "it" or "appt" ("waitlist me 4 sat"): a time is said
after its day ("sat 4") or with "at"."""
_NUM_TO = re.compile(
    r"\b2 (?=(?:book|cancel|reschedule|resched|come|see|get|make|move|change|schedule|know|be|"
    r"ask|talk|speak|confirm|check|push|bring|drop|stop|go|do|let|you|u|me|us)\b)")
"""SMS "2" meaning "to" ("need 2 cancel"), only where no count or time fits."""
_MOVE_2 = re.compile(r"\b(resched|reschedule|move|moved|push|change|switch|bump|it|appt|"
                     r"appointment|booking) 2 (?=[a-z])|\b(talk|speak|chat|reply|write|listen|"
                     r"text) 2 (?=(?:a|an|the|some|someone|somebody|any|anyone|you|u|me|your|ur|"
                     r"him|her|them|person|human|staff|manager|owner|people)\b)")
"""... and after a move ("resched 2 mon", "move it 2 friday")."""
_HASH_NUMBER = re.compile(r"#\s?(\d)\b")
"""'#2' picks the second option: said "number 2" so no pattern mistakes it for 2 o'clock."""
_SEE_U = re.compile(r"\bc (?=(?:u|ya|you)\b)|(?<=\b2 )c\b|(?<=\bto )c\b")
"""SMS "c u" is "see you", and so is the "c" of "need 2 c the doc" (a lone "C" is the
confirm command, read before this)."""
_TWO_MORROW = re.compile(r"\b2m[aeiou]{0,2}r+[aeiou]{0,2}w*\b")
"""Every SMS spelling of tomorrow that starts "2m" ("2moro", "2mrw", "2morro", "2marrow")."""
_NUM_UNIT = re.compile(r"\b(\d{1,2})(wks?|weeks?|days|hrs?|mins?)\b")
_STRETCH = re.compile(r"([a-z])\1")
_RUN3 = re.compile(r"([a-z])\1{2,}")

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
    "wknd": "weekend", "wkend": "weekend", "wk": "week", "wks": "weeks",
    "noonish": "noon", "lmk": "let me know", "lemme": "let me", "hw": "how", "mch": "much",
    "mcuh": "much", "muc": "much", "cncl": "cancel", "cncel": "cancel", "dmg": "damage",
    "sry": "sorry", "srry": "sorry", "idk": "i do not know", "btw": "by the way",
    "rly": "really", "thatll": "that will", "itll": "it will", "thatd": "that would",
    "youve": "you have", "youre": "you are", "theyre": "they are", "weve": "we have",
    "thnk": "thank", "thku": "thank you", "omw": "on my way", "tmorrow": "tomorrow",
    "tomoz": "tomorrow", "2mro": "tomorrow", "2mor": "tomorrow", "2moz": "tomorrow",
    "aftr": "after", "befor": "before", "btwn": "between", "evng": "evening",
    "sched": "schedule", "def": "definitely", "deff": "definitely", "ofc": "of course",
    "tryna": "trying to", "finna": "going to", "boutta": "about to", "l8r": "later",
    "l8": "late", "gr8": "great", "bout": "about", "txt": "text", "txts": "texts",
    "msg": "message", "msgs": "messages", "w": "with", "sumthin": "something",
    "sumthing": "something", "smth": "something", "sth": "something", "nothin": "nothing",
    "nuthin": "nothing", "anythin": "anything", "cuz": "because", "coz": "because",
    "cya": "see ya", "lyk": "let you know", "hilites": "highlights", "hilights": "highlights",
    "hilite": "highlight", "hilight": "highlight",
    "gud": "good", "gr8t": "great", "aft": "afternoon",
    "afternn": "afternoon", "tmrrw": "tomorrow", "tyty": "thank you", "tyy": "thank you",
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


def is_common(word: str) -> bool:
    """A common English word (or its plural): meant as written, never a typo of another.
    The guard both typo matchers share ("trip" is not "trim", "bears" not "beard")."""
    return word in COMMON or word in ENGLISH or (
        len(word) > 4 and word.endswith("s") and word[:-1] in ENGLISH)


def known(word: str) -> bool:
    """A word some part of the rules reads as it is (key, common, or SMS spelling)."""
    return word in VOCAB or word in SHORTHAND or word in SOCIAL or is_common(word)


SOCIAL: frozenset[str] = words("""
yes yeah yep yup yay yas no nope nah naw ok okay oki sure hi hey hello hiya heya yo sup
thanks thank thx ty please pls plz so lol haha hmm ah oh aw bye cool nice great perfect
awesome sweet wow omg k kk alright aight bet ugh uh um yess yesss noo nooo mhm yessir
alrighty
""")
"""Short social words people stretch ("yeahhh", "nopeee", "sooo"): what they shrink back to."""


@lru_cache(maxsize=4096)
def unstretch(word: str) -> str:
    """"yeahhh" → yeah, "nopeee" → nope, "pleasee" → please: letters held down for emphasis
    are dropped until a word we know appears; a word we know is left alone ("cool", "book")."""
    if not _STRETCH.search(word) or known(word):
        return word
    twice = _RUN3.sub(r"\1\1", word)
    if known(twice):
        return twice
    once = _RUN3.sub(r"\1", word)
    if known(once):
        return once
    for form in (twice, once):  # "thankss", "pleasee": one doubled letter at the end
        if len(form) > 2 and form[-1] == form[-2] and known(form[:-1]):
            return form[:-1]
    return once if once != word and _RUN3.search(word) else word


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
    if word in VOCAB or not word.isalpha() or is_common(word):
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
    t = _LETS.sub("let us", t)
    t = _POSSESSIVE.sub("", t)
    t = _INNER_APOS.sub("", t)
    t = _DOT_TIME.sub(r"\1:\2", t)
    t = _HASH_NUMBER.sub(r"number \1", t)
    t = _RANGE_DASH.sub(r"between \1 and \2", t)
    t = _THAN.sub(lambda m: "before" if (m.group(1) is None) == (m.group(2) != "later")
                  else "after", t)
    t = _NOON_IN_RANGE.sub(lambda m: m.group(0).replace("noon", "12"), t)
    t = _RANGE_TO.sub(_range_to, t)
    t = t.replace("'", " ")
    t = _NON_WORD.sub(" ", t)
    t = _SPLIT_PUNCT.sub(r" \1 ", t)
    t = _TWO_MORROW.sub("tomorrow", t)
    t = _SEE_U.sub("see ", t)
    t = _NUM_UNIT.sub(r"\1 \2", t)
    t = _NUM_FOR.sub(_four, t)
    t = _FOR_DAY.sub(r"\1 for ", t)
    t = _NUM_TO.sub("to ", t)
    t = _MOVE_2.sub(lambda m: f"{m.group(1) or m.group(2)} to ", t)
    return _SPACES.sub(" ", t).strip()


_NOT_FOR_BEFORE = frozenset({"and", "to", "till", "til", "until", "at", "around", "about", "by",
                             "@", "from", "between", "or", "like", "after", "before", "than"})


def _range_to(m: re.Match[str]) -> str:
    """"2 to 4" said as "between 2 and 4", unless a move comes just before it."""
    before = m.string[:m.start()].split()
    if before and before[-1] in _MOVED:
        return m.group(0)
    return f"between {m.group(1)} and {m.group(2)}"


def _four(m: re.Match[str]) -> str:
    """"4" read as "for" unless a time range or a time cue comes just before it."""
    before = m.string[:m.start()].split()
    return "4 " if before and before[-1] in _NOT_FOR_BEFORE else "for "


def _g_dropped(word: str) -> str:
    """"lookin", "nothin", "comin": the -ing form when that is a word we know."""
    if len(word) > 4 and word.endswith("in") and not known(word) and known(word + "g"):
        return word + "g"
    return word


_AS_WRITTEN_AFTER: dict[str, frozenset[str]] = {
    "sun": frozenset({"the", "in", "of", "hot", "morning", "afternoon", "evening"}),
    "sat": frozenset({"i", "we", "he", "she", "they", "just", "had", "has", "have"}),
}
"""Day shorthand that is a word after these ("the sun", "I sat"), not a weekday."""


def expand(words: list[str]) -> list[str]:
    """Shorthand expanded and key-word typos corrected, word by word."""
    out: list[str] = []
    for w in words:
        if w.isalpha():
            w = _g_dropped(unstretch(w))
        if out and out[-1] in _AS_WRITTEN_AFTER.get(w, ()):
            out.append(w)
            continue
        rep = SHORTHAND.get(w)
        if rep is not None:
            out.extend(rep.split())
        elif w.isalpha():
            out.append(correct_word(w))
        else:
            out.append(w)
    return out
