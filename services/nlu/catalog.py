"""What the extractor needs to know about a business: its services (names and aliases) and
its timezone. Small and hashable so it can be cached per business; the matcher's tables are
built once per catalog, never per message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from libs.business.profile import BusinessProfile, load_profile
from services.nlu.text import VOCAB, allowed_typos, distance, expand, is_common, normalize

ServiceSpec = tuple[str, tuple[str, ...]]

_CONNECTORS = {"+": "and", "&": "and", "n": "and"}
_NEGATION = frozenset({"not", "no", "nt"})
_STOP_MATCH = frozenset({"a", "an", "the", "my", "and", "for", "of", "to", "in", "on", "up"})


def stem(word: str) -> str:
    """Plural to singular, enough for catalog words ("highlights", "facials", "kids")."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def phrase_tokens(text: str) -> tuple[str, ...]:
    """A catalog phrase or a message, as the stems the matcher compares. A Spanish alias is
    rewritten as a Spanish message is (services/nlu/spanish.py), so the two always meet."""
    from services.nlu.language import read_language
    from services.nlu.spanish import translate

    source = translate(text) if read_language(text).spanish else text
    words = [_CONNECTORS.get(w, w) for w in expand(normalize(source).split())]
    return tuple(stem(w) for w in words if w not in {"?", "!", "@", "$"})


def _inflection_bases(word: str) -> list[str]:
    """"colored" → color, "trimmed" → trim, "shaving" → shave: verbs of a catalog noun."""
    if len(word) < 5 or not word.isalpha():
        return []
    out: list[str] = []
    for suffix in ("ing", "ed", "er"):
        if word.endswith(suffix):
            base = word[: -len(suffix)]
            out += [base, base + "e"]
            if len(base) > 2 and base[-1] == base[-2]:
                out.append(base[:-1])
    return out


@dataclass(frozen=True, slots=True)
class ServiceMatch:
    service: str
    start: int
    end: int
    fuzzy: bool


class ServiceMatcher:
    """Finds the catalog service a message names: exact phrase, plural, a joined or split
    compound ("hair cut"/"haircut") or a typo of a catalog word that is not a common word."""

    def __init__(self, services: Sequence[ServiceSpec]) -> None:
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        vocab: set[str] = set()
        for name, aliases in services:
            for phrase in (name, *aliases):
                toks = phrase_tokens(phrase)
                if not toks:
                    continue
                self._phrases.setdefault(toks[0], []).append((toks, name))
                vocab.update(toks)
                if len(toks) > 1:
                    joined = "".join(toks)
                    self._phrases.setdefault(joined, []).append(((joined,), name))
                    vocab.add(joined)
        for entries in self._phrases.values():
            entries.sort(key=lambda e: -len(e[0]))
        self._by_second: dict[str, list[tuple[str, str]]] = {}
        for entries in self._phrases.values():
            for toks, name in entries:
                if len(toks) == 2:
                    self._by_second.setdefault(toks[1], []).append((toks[0], name))
        self._vocab = frozenset(vocab)
        words: dict[str, set[str]] = {}
        for name, aliases in services:
            for phrase in (name, *aliases):
                words.setdefault(name, set()).update(phrase_tokens(phrase))
        self.words_of: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in words.items()}
        self._fuzzy_cache: dict[str, str | None] = {}

    def _canon(self, word: str) -> tuple[str, bool] | None:
        """The catalog word `word` stands for, and whether it took a typo to get there."""
        if word in self._vocab:
            return word, False
        for base in _inflection_bases(word):
            if base in self._vocab:
                return base, False
        if word in self._fuzzy_cache:
            hit = self._fuzzy_cache[word]
            return None if hit is None else (hit, True)
        found: str | None = None
        if (word.isalpha() and allowed_typos(word) > 0 and not is_common(word)
                and word not in VOCAB):
            best = 99
            for cand in self._vocab:
                if cand in _STOP_MATCH or len(cand) < 3 or (len(cand) == 3
                                                            and len(word) != 4):
                    continue  # a 3-letter word only by one letter added: "kidz", "cutt"
                limit = allowed_typos(cand if len(cand) > len(word) else word)
                d = distance(word, cand, limit)
                if d <= limit and d < best:
                    best, found = d, cand
        if len(self._fuzzy_cache) < 4096:
            self._fuzzy_cache[word] = found
        return None if found is None else (found, True)

    def find(self, tokens: Sequence[str]) -> list[ServiceMatch]:
        """Every non-overlapping mention, longest first at each position."""
        canon: list[tuple[str, bool] | None] = [self._canon(t) for t in tokens]
        matches: list[ServiceMatch] = []
        i = 0
        n = len(tokens)
        while i < n:
            best: ServiceMatch | None = None
            # a compound typed as two words: "hair cut" for "haircut"
            if i + 1 < n and tokens[i] not in _STOP_MATCH and tokens[i + 1] not in _STOP_MATCH:
                joined = tokens[i] + tokens[i + 1]
                for toks, name in self._phrases.get(joined, ()):
                    if len(toks) == 1:
                        best = ServiceMatch(name, i, i + 2, False)
                        break
            head = canon[i]
            if head is not None:
                for toks, name in self._phrases.get(head[0], ()):
                    end = i + len(toks)
                    if end > n or (best is not None and end <= best.end):
                        continue
                    fuzzy = head[1]
                    ok = True
                    for k in range(1, len(toks)):
                        ck = canon[i + k]
                        if ck is None or ck[0] != toks[k]:
                            ok = False
                            break
                        fuzzy = fuzzy or ck[1]
                    if ok:
                        best = ServiceMatch(name, i, end, fuzzy)
                        break
            if best is not None and best.end - best.start == 1 and tokens[i] in _STOP_MATCH:
                best = None
            if (best is None or best.end - best.start == 1) and i + 1 < n:
                best = self._anchored(tokens[i], canon[i + 1], i) or best
            if best is None:
                i += 1
                continue
            matches.append(best)
            i = best.end
        return matches


    def _anchored(self, word: str, second: tuple[str, bool] | None, i: int) -> ServiceMatch | None:
        """A two-word name whose second word is exact and whose first is misspelt, even into
        a common word: "bread trim" is Beard Trim (alone, "bread" is bread)."""
        if second is None or second[1] or len(word) < 4 or not word.isalpha():
            return None
        for first, name in self._by_second.get(second[0], ()):
            limit = 2 if len(first) >= 5 else 1
            if word[0] == first[0] and word != first and distance(word, first, limit) <= limit:
                return ServiceMatch(name, i, i + 2, True)
        return None


def choose_service(matches: Sequence[ServiceMatch], tokens: Sequence[str],
                   vocab: Mapping[str, frozenset[str]] | None = None) -> ServiceMatch | None:
    """One service for the message: the one a correction points at ("to", "instead"),
    else the one whose own words explain most of what was mentioned ("my kid needs a
    haircut": Kids Cut, whose alias "kids haircut" covers both), else the longest mention,
    else the first."""
    if not matches:
        return None
    names = {m.service for m in matches}
    if len(names) == 1:
        return matches[0]
    kept = [m for m in matches if not set(tokens[max(0, m.start - 2):m.start]) & _NEGATION]
    if kept and len(kept) < len(matches):  # "not a haircut, a color": the one not refused
        return choose_service(kept, tokens, vocab)
    for m in reversed(matches):
        before = tokens[max(0, m.start - 3):m.start]
        after = tokens[m.end:m.end + 1]
        if "to" in before or "instead" in after:
            return m
    mentioned = [t for m in matches for t in tokens[m.start:m.end] if t not in _STOP_MATCH]

    def coverage(m: ServiceMatch) -> int:
        words = vocab.get(m.service, frozenset()) if vocab else frozenset()
        return sum(1 for t in mentioned if t in words)

    return max(matches, key=lambda m: (coverage(m), m.end - m.start, -m.start))


@dataclass(frozen=True)
class Catalog:
    """A business as the extractor sees it. Build with `Catalog.of` or `from_profile`, which
    cache, so a busy business's matcher is compiled once."""

    services: tuple[ServiceSpec, ...]
    timezone: ZoneInfo
    business_id: str = ""
    matcher: ServiceMatcher = field(init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matcher", ServiceMatcher(self.services))

    @property
    def service_names(self) -> list[str]:
        return [name for name, _ in self.services]

    @classmethod
    def of(cls, business_id: str, timezone: str | ZoneInfo,
           services: Iterable[tuple[str, Iterable[str]]]) -> Catalog:
        tz = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        specs = tuple((name, tuple(aliases)) for name, aliases in services)
        key = (business_id, tz.key, specs)
        hit = _CACHE.get(key)
        if hit is None:
            if len(_CACHE) >= 256:
                _CACHE.clear()
            hit = _CACHE[key] = cls(specs, tz, business_id)
        return hit

    @classmethod
    def from_profile(cls, profile: BusinessProfile) -> Catalog:
        return cls.of(profile.id, profile.tz,
                      [(s.name, list(s.aliases)) for s in profile.services])

    @classmethod
    def from_file(cls, path: Path) -> Catalog:
        return cls.from_profile(load_profile(path))


_CACHE: dict[tuple[str, str, tuple[ServiceSpec, ...]], Catalog] = {}
