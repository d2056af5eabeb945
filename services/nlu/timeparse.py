"""Dates and times a customer means, resolved in the business's zone (docs/nlu.md, Slots).

The spec pins down readings a general parser gets "wrong" for us: a bare hour 1-7 is pm and
8-11 am (Duckling picks the next such instant), a weekday is the next one *after* today,
"next friday" is the friday of next Monday-Sunday week, a plural weekday is no date, and a
window ("friday afternoon") is a part of day, not a time. Those readings, and the common
calendar forms, are our own patterns over the cleaned text; Duckling resolves whatever date
phrase is left ("on the tenth", "christmas eve") and is skipped when nothing date-like is.
Everything here is wall-clock arithmetic on local dates: DST cannot shift a day.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from libs.contracts.vocabulary import PartOfDay
from libs.logs import error_without_message

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD = "(?:" + "|".join(WEEKDAYS) + ")"
_WDS = "(?:" + "|".join(d + "s" for d in WEEKDAYS) + ")"
MONTHS: dict[str, int] = {}
for _i, _names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sept", "sep"),
     ("october", "oct"), ("november", "nov"), ("december", "dec")), start=1):
    for _n in _names:
        MONTHS[_n] = _i
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"
_SMALL = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_COUNT = r"(?:\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
_ORD = r"(?:st|nd|rd|th)"
_NOT_ORD_NOUN = r"(?! (?:one|time|visit|appointment|option|slot|available|choice|thing|floor))"

_DATE_RE = re.compile(
    r"\b(?:"
    r"(?P<dat>(?:the )?day after tomorrow)"
    rf"|(?P<wkfrom>(?P<wkn>{_COUNT}) weeks? from (?P<wkbase>today|now|tomorrow|{_WD}))"
    rf"|(?P<inn>in (?P<inn_n>{_COUNT}) (?P<inn_u>days?|weeks?))"
    rf"|(?P<dfrom>(?P<dfrom_n>{_COUNT}) (?P<dfrom_u>days?|weeks?) from (?:now|today))"
    rf"|(?P<md>(?P<md_m>{_MONTH}) (?:the )?(?P<md_d>\d{{1,2}}){_ORD}?(?! ?(?::|am\b|pm\b))"
    r"(?: (?P<md_y>20\d\d))?)"
    rf"|(?P<dm>(?:the )?(?P<dm_d>\d{{1,2}}){_ORD}? (?:of )?(?P<dm_m>{_MONTH})"
    r"(?: (?P<dm_y>20\d\d))?)"
    r"|(?P<num>(?P<num_m>1[0-2]|0?[1-9])/(?P<num_d>3[01]|[12]\d|0?[1-9])(?:/(?P<num_y>\d{4}|\d\d))?)"
    rf"|(?P<nextwd>(?:next|nxt) (?:week )?(?:on )?(?P<nextwd_d>{_WD})"
    rf"|(?P<nextwd_d2>{_WD}) (?:of )?next week)"
    rf"|(?P<thiswd>(?:this (?:coming )?|coming )(?P<thiswd_d>{_WD}))"
    rf"|(?P<plural>(?:every|each|other|last|past) {_WD}|{_WDS}"
    r"|(?:last|past|yesterday) (?:night|evening|morning|afternoon|week|weekend))"
    rf"|(?P<wd>{_WD})"
    r"|(?P<today>today|this(?= (?:morning|afternoon|evening)\b))"
    r"|(?P<tonight>tonight)"
    r"|(?P<tomorrow>tomorrow)"
    rf"|(?P<ord>(?:on )?the (?P<ord_d>\d{{1,2}}){_ORD}{_NOT_ORD_NOUN}"
    rf"|(?:on )(?P<ord_d2>\d{{1,2}}){_ORD}{_NOT_ORD_NOUN}|(?P<ord_d3>\d{{1,2}}){_ORD}(?= at\b))"
    r")\b"
)

_H = r"(?P<h>[01]?\d|2[0-3])"
_UNITS = (r"(?!\s?(?::\d|/|\d|st\b|nd\b|rd\b|th\b|min|minute|hour|hr|day|week|month|year|"
          r"people|person|of us|kid|child|dollar|buck|percent|%|\$|x\b|times?\b|guys|men|"
          r"boys|girls|sons|daughters|ppl|folks|adults|of them|visits|sessions|more|extra|"
          r"other|others|cuts|haircuts|spots|slots|of my|SVC))")
_TIME_RE = re.compile(
    r"(?:"
    r"\b(?:between|btw|from) (?P<btw_a>1[0-2]|0?[1-9])(?::(?P<btw_am_m>[0-5]\d))?"
    r" ?(?P<btw_am>am|pm|a|p)?\b (?:and|to|till|til|until) (?P<btw_b>1[0-2]|0?[1-9])"
    r"(?::(?P<btw_bm_m>[0-5]\d))? ?(?P<btw_bm>am|pm|a|p)?\b" + _UNITS +
    r"|(?:(?<=@ )|(?<=\bat )|(?<=\baround )|(?<=\babout )|(?<=\bby )"
    r"|\b(?=\d{3,4} ?(?:am|pm|a|p)\b)|(?<=DATE ))"
    r"(?P<dg_h>1[0-2]|0?[1-9])(?P<dg_m>[0-5]\d)(?: ?(?P<dg_mer>am|pm|a|p))?\b(?![:/]\d)"
    r"|\b(?P<hm_h>[01]?\d|2[0-3]):(?P<hm_m>[0-5]\d)(?:\s?(?P<hm_mer>am|pm)\b|(?P<hm_ap>[ap])\b)?"
    r"|\b(?P<mer_h>1[0-2]|0?[1-9])(?:\s?(?P<mer>am|pm)\b|(?P<mer_ap>[ap])\b)"
    r"|\b(?P<win_noon>after|before) (?:12 ?pm|12 noon|noon|midday)\b"
    r"|\b(?P<noon>(?:12 )?noon|midday|mid day)\b"
    r"|\b(?P<midnight>midnight)\b"
    r"|\b(?P<rel>half|quarter) (?P<rel_dir>past|after|to|til|till|of) (?P<rel_h>1[0-2]|0?[1-9])\b"
    r"(?:\s?(?P<rel_mer>am|pm)\b)?"
    r"|\b(?P<win>after|before) (?P<win_h>1[0-2]|0?[1-9])(?::(?P<win_m>[0-5]\d))?"
    r"(?:\s?(?P<win_mer>am|pm)\b)?" + _UNITS +
    r"|(?:\b(?:at|around|about|say|like|make it|how about|what about|maybe|or|is|for|till|until|"
    r"til|from|by|ok|okay|instead|than|to|said|meant|go with)|@|DATE) "
    r"(?:(?:at|around|about|maybe|like) )?"
    r"(?P<cue_h>[01]?\d|2[0-3])(?P<cue_ish> ?ish| oclock| o clock)?\b" + _UNITS +
    r"|\b(?P<post_h>[01]?\d|2[0-3])(?: ?ish| oclock| o clock)?"
    r"(?= (?:works|work|is|ok|okay|good|fine|then|instead|please|DATE|would|sounds|if|on|"
    r"opens|opened|frees|becomes|comes|gets|"
    r"tonight|in the|\?|!|pls)\b| ?[?!])" + _UNITS +
    r"|\b(?P<ish_h>[01]?\d|2[0-3])(?: ?ish| oclock| o clock)\b"
    r"|^(?P<only_h>[01]?\d|2[0-3])(?= ?[?!]? ?$)"
    r")"
)
_POD_RE = re.compile(
    r"\b(?:(?P<morning>mornings?|(?<=DATE )am|(?<=the )am)"
    r"|(?P<afternoon>afternoons?|(?<=DATE )pm|(?<=the )pm)"
    r"|(?P<evening>evenings?|tonight|nights?|after work|(?<=DATE )eve|(?<=DATE )evng))\b"
)
_GREET_RE = re.compile(
    r"\b(?:good (?:morning|afternoon|evening|night|day)|(?:merry|happy) (?:christmas|xmas|"
    r"new years?|holidays|thanksgiving|easter|halloween|hanukkah|birthday|4th|fourth|"
    r"valentines?(?: day)?|mothers day|fathers day|friday|monday|weekend))\b")
_NUMWORD_RE = re.compile(
    r"\b(?P<pre>at|around|about|by|say|make it|how about|till|until|before|after|"
    r"half past|quarter past|quarter to|quarter after|quarter til) "
    r"(?P<w>one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b"
    r"|\b(?P<w2>one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"(?= (?:am|pm|oclock|o clock|ish|thirty|fifteen|forty five|tonight)\b)"
    r"|^(?P<w3>one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)(?= ?[?!]? ?$)"
)
_MINUTES_RE = re.compile(
    r"\b(?P<h>1[0-2]|0?[1-9]) (?P<m>thirty|fifteen|forty five|forty|30|15|45)\b"
    r"(?= ?(?:am|pm|$|DATE|tonight|works|ok|please|\?|!|on|is|then|would))"
)
_MINUTE_WORDS = {"thirty": 30, "fifteen": 15, "forty five": 45, "forty": 40,
                 "30": 30, "15": 15, "45": 45}
_DUCKLING_CUE = re.compile(
    r"\b(?:day|days|week|weeks|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"tenth|eleventh|twelfth|\w+teenth|twentieth|thirtieth|twenty|thirty|christmas|xmas|"
    r"thanksgiving|easter|halloween|valentines?|new years?|independence|memorial|labor|"
    r"month|ides)\b"
)

_NOT_A_DAY = re.compile(
    r"\b(?:(?:next|this|last|the|a|every|per|that|which|what|same|other|one|another|"
    r"different|whole|full|any|busy|long|first|following) (?:week|weeks|day|days|month)"
    r"|(?:first|second|third|fourth|fifth|last) (?:one|option|choice|slot|spot|time|timer|"
    r"appointment|visit|session|available|opening|thing|of them)|first(?= ?[?!]? ?$))\b"
)
"""Phrases our cue words appear in that never name a single day ("next week", "the second
one"): no Duckling call for them (it is the slowest step, and would find no day)."""


_Day = date  # the types, under names the fields `date` and `time` below do not shadow
_Clock = time


@dataclass(frozen=True, slots=True)
class When:
    """The date, time and part of day a message gives, and its text with them replaced by
    DATE / TIME / POD markers (what the intent rules read)."""

    date: date | None
    time: time | None
    part_of_day: PartOfDay | None
    masked: str
    dates: tuple[_Day, ...] = ()
    """Every date our patterns read, in the order of the DATE markers (the last is `date`)."""
    times: tuple[_Clock, ...] = ()
    """Every time, in the order of the TIME markers (the last is `time`)."""
    part_hint: PartOfDay | None = None
    """The part of day said, even when a time was also said (`part_of_day` is then None)."""


def bare_hour(h: int) -> int:
    """The spec's reading of an hour said without am/pm: 1-7 pm, 8-11 am, 12 noon."""
    if 1 <= h <= 7:
        return h + 12
    return h


def _with_meridiem(h: int, mer: str) -> int:
    if h > 12:
        return h
    if mer.startswith("a"):
        return 0 if h == 12 else h
    return 12 if h == 12 else h + 12


def part_of(t: time) -> PartOfDay:
    if t.hour < 12:
        return "morning"
    if t.hour < 17:
        return "afternoon"
    return "evening"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _SMALL.get(word, 1)


def _next_after(today: date, weekday: int) -> date:
    """A weekday name: the next such day after today (today's name means a week on)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _on_or_after(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _in_next_week(today: date, weekday: int) -> date:
    """"next <weekday>": that weekday in the next Monday-Sunday week."""
    return today - timedelta(days=today.weekday()) + timedelta(days=7 + weekday)


def _future_month_day(today: date, month: int, day: int, year: int | None) -> date | None:
    """A calendar date with no year is the next one on or after today."""
    if year is not None:
        try:
            return date(year if year > 99 else 2000 + year, month, day)
        except ValueError:
            return None
    for y in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            d = date(y, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    return None


def _day_of_month(today: date, day: int) -> date | None:
    """"the 15th": this month's if still ahead (or today), else the next month that has it."""
    y, m = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(y, m)[1]:
            d = date(y, m, day)
            if d >= today:
                return d
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return None


def _resolve_date(m: re.Match[str], today: date) -> date | None:
    g = m.groupdict()
    if g["dat"]:
        return today + timedelta(days=2)
    if g["wkfrom"]:
        base_word = g["wkbase"]
        if base_word in ("today", "now"):
            base = today
        elif base_word == "tomorrow":
            base = today + timedelta(days=1)
        else:
            base = _next_after(today, WEEKDAYS.index(base_word))
        return base + timedelta(days=7 * _count(g["wkn"]))
    if g["inn"] or g["dfrom"]:
        n = _count(g["inn_n"] or g["dfrom_n"])
        unit = g["inn_u"] or g["dfrom_u"]
        return today + timedelta(days=n * (7 if unit.startswith("week") else 1))
    if g["md"]:
        return _future_month_day(today, MONTHS[g["md_m"]], int(g["md_d"]),
                                 int(g["md_y"]) if g["md_y"] else None)
    if g["dm"]:
        return _future_month_day(today, MONTHS[g["dm_m"]], int(g["dm_d"]),
                                 int(g["dm_y"]) if g["dm_y"] else None)
    if g["num"]:
        return _future_month_day(today, int(g["num_m"]), int(g["num_d"]),
                                 int(g["num_y"]) if g["num_y"] else None)
    if g["nextwd"]:
        return _in_next_week(today, WEEKDAYS.index(g["nextwd_d"] or g["nextwd_d2"]))
    if g["thiswd"]:
        return _on_or_after(today, WEEKDAYS.index(g["thiswd_d"]))
    if g["wd"]:
        return _next_after(today, WEEKDAYS.index(g["wd"]))
    if g["today"] or g["tonight"]:
        return today
    if g["tomorrow"]:
        return today + timedelta(days=1)
    if g["ord"]:
        return _day_of_month(today, int(g["ord_d"] or g["ord_d2"] or g["ord_d3"]))
    return None


class _Duckling:
    """Duckling, loaded once per process; unavailable (no zoneinfo, no wheel) means off."""

    ZONEINFO = Path("/usr/share/zoneinfo")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = False
        self._failed = False
        self._mod: Any = None
        self._tzdb: Any = None
        self._locale: Any = None
        self._dims: Any = None

    def _init(self) -> bool:
        if self._ready or self._failed:
            return self._ready
        with self._lock:
            if self._ready or self._failed:
                return self._ready
            try:
                import duckling

                self._mod = duckling
                self._tzdb = duckling.load_time_zones(str(self.ZONEINFO))
                lang = duckling.parse_lang("EN")
                self._locale = duckling.parse_locale("EN_US", duckling.default_locale_lang(lang))
                self._dims = duckling.parse_dimensions(["time"])
                self._ready = True
            except Exception:  # any failure to load means "no Duckling", never a crash
                log.warning("duckling unavailable; calendar phrases use our own patterns only",
                            exc_info=True)
                self._failed = True
        return self._ready

    def warm(self, tz: str) -> None:
        """Load the zone database and run one parse now: the first costs ~200 ms."""
        if self._init():
            self.day("the day after christmas", datetime.now().astimezone(), tz)

    def day(self, text: str, now_local: datetime, tz: str) -> date | None:
        """The one day-grain date Duckling reads in `text`, if exactly that."""
        if not self._init():
            return None
        try:
            ref = self._mod.parse_ref_time(self._tzdb, tz, int(now_local.timestamp()))
            ctx = self._mod.Context(ref, self._locale)
            found = self._mod.parse(text[:160], ctx, self._dims, False)
        except Exception as exc:  # its message may quote the customer's text
            log.warning("duckling failed on a message: %s", error_without_message(exc))
            return None
        for ent in found:
            value = ent.get("value") or {}
            body = str(ent.get("body", ""))
            if value.get("type") != "value" or value.get("grain") != "day":
                continue
            if re.search(r"\b(?:week|weekend|ago|last|past|every|now)\b", body):
                continue
            if re.fullmatch(r"(?:the )?(?:first|second|third)", body):
                continue
            try:
                d = date.fromisoformat(str(value.get("value", ""))[:10])
            except ValueError:
                continue
            if d >= now_local.date():
                return d
        return None


DUCKLING = _Duckling()


def parse_when(text: str, now_local: datetime, tz: str, use_duckling: bool = True) -> When:
    """Read the date, time and part of day in cleaned text (see `services.nlu.text`)."""
    today = now_local.date()
    s = _GREET_RE.sub("GREET", text)

    dates: list[date] = []

    def on_date(m: re.Match[str]) -> str:
        if m.group("plural"):
            return "DAYS"
        d = _resolve_date(m, today)
        if d is None:
            return m.group(0)
        dates.append(d)
        if m.group("tonight"):
            return "DATE tonight"
        return "DATE"

    s = _DATE_RE.sub(on_date, s)
    if not dates and use_duckling and _DUCKLING_CUE.search(_NOT_A_DAY.sub(" ", s)):
        d = DUCKLING.day(s, now_local, tz)
        if d is not None:
            dates.append(d)

    s = _NUMWORD_RE.sub(
        lambda m: (f"{m.group('pre')} {_SMALL[m.group('w')]}" if m.group("w")
                   else str(_SMALL[m.group("w2") or m.group("w3")])), s)
    s = _MINUTES_RE.sub(lambda m: f"{m.group('h')}:{_MINUTE_WORDS[m.group('m')]:02d}", s)

    times: list[time] = []
    windows: list[PartOfDay] = []
    pod_hint = _pod_hint(s)

    def on_time(m: re.Match[str]) -> str:
        g = m.groupdict()
        t: time | None = None
        if g["dg_h"] is not None:  # "at 230", "1130am": a clock time typed without its colon
            h = int(g["dg_h"])
            h = _with_meridiem(h, g["dg_mer"]) if g["dg_mer"] else _bare(h, pod_hint)
            t = time(h, int(g["dg_m"]))
        elif g["hm_h"] is not None:
            h, mi = int(g["hm_h"]), int(g["hm_m"])
            mer = g["hm_mer"] or g["hm_ap"]
            h = _with_meridiem(h, mer) if mer else _bare(h, pod_hint)
            t = time(h, mi)
        elif g["mer_h"] is not None:
            t = time(_with_meridiem(int(g["mer_h"]), g["mer"] or g["mer_ap"]), 0)
        elif g["win_noon"]:
            windows.append("afternoon" if g["win_noon"] == "after" else "morning")
            return "WINDOW"
        elif g["btw_a"]:
            return _range(m, s, times, windows, pod_hint)
        elif g["noon"]:
            t = time(12, 0)
        elif g["midnight"]:
            t = time(0, 0)
        elif g["rel"]:
            h = int(g["rel_h"])
            h = _with_meridiem(h, g["rel_mer"]) if g["rel_mer"] else _bare(h, pod_hint)
            base = datetime(2000, 1, 1, h)
            delta = timedelta(minutes=30 if g["rel"] == "half" else 15)
            before = g["rel_dir"] in ("to", "til", "till", "of")
            t = (base - delta if before else base + delta).time()
        elif g["win"]:
            h = int(g["win_h"])
            h = _with_meridiem(h, g["win_mer"]) if g["win_mer"] else _bare(h, pod_hint)
            edge = time(h, int(g["win_m"] or 0))
            if g["win"] == "after":
                windows.append(part_of(edge))  # "after N" takes the part N falls in
            elif g["win"] == "before" and edge <= time(12, 0):
                windows.append("morning")
            return "WINDOW"
        else:
            raw = g["cue_h"] or g["post_h"] or g["ish_h"] or g["only_h"]
            if raw is None:
                return m.group(0)
            h = int(raw)
            if g["cue_h"] is not None and h == 0:
                return m.group(0)
            t = time(_bare(h, pod_hint), 0)
            prefix = m.group(0)[: m.start("cue_h") - m.start()] if g["cue_h"] is not None else ""
            times.append(t)
            return f"{prefix}TIME"
        times.append(t)
        return "TIME"

    s = _TIME_RE.sub(on_time, s)

    pods: list[PartOfDay] = []

    def on_pod(m: re.Match[str]) -> str:
        pods.append("morning" if m.group("morning") else
                    "afternoon" if m.group("afternoon") else "evening")
        return "POD"

    s = _POD_RE.sub(on_pod, s)
    when_time = times[-1] if times else None
    pod: PartOfDay | None = None
    if when_time is None:
        pod = pods[-1] if pods else (windows[-1] if windows else None)
    hint = pods[-1] if pods else (windows[-1] if windows else None)
    return When(dates[-1] if dates else None, when_time, pod, s, tuple(dates), tuple(times), hint)


_MOVE_BEFORE = re.compile(r"\b(?:move|moving|moved|change|changing|switch|push|pushed|bump|"
                          r"reschedule|rescheduling|shift|it|my|appointment|SVC)\s*$")


def _range(m: re.Match[str], s: str, times: list[time], windows: list[PartOfDay],
           hint: PartOfDay | None) -> str:
    """"between 2 and 4", "from 10a to 12p", "2-4pm": the part of day the range lies in
    (none when it spans two), or, after a move ("move it from 2 to 4"), the new time."""
    g = m.groupdict()
    a_mer, b_mer = g["btw_am"], g["btw_bm"]
    a_m, b_m = int(g["btw_am_m"] or 0), int(g["btw_bm_m"] or 0)
    a = _with_meridiem(int(g["btw_a"]), a_mer or b_mer) if (a_mer or b_mer) \
        else _bare(int(g["btw_a"]), hint)
    b = _with_meridiem(int(g["btw_b"]), b_mer) if b_mer else _bare(int(g["btw_b"]), hint)
    if b < a and not b_mer and b + 12 < 24:
        b += 12  # "between 11 and 1": one stretch of the day, not a wrap
    if m.group(0).startswith("from") and _MOVE_BEFORE.search(s[:m.start()]):
        times.append(time(b % 24, b_m))
        return "from TIME"
    end_h, end_m = (b, b_m - 1) if b_m else (b - 1, 59)
    first, last = part_of(time(a % 24, a_m)), part_of(time(max(end_h, 0) % 24, end_m))
    if first == last:
        windows.append(first)
    return "WINDOW"


def _pod_hint(s: str) -> PartOfDay | None:
    """A part of day said next to a bare hour decides its half: "7 in the morning"."""
    m = _POD_RE.search(s)
    if m is None:
        return None
    return "morning" if m.group("morning") else "afternoon" if m.group("afternoon") else "evening"


def _bare(h: int, hint: PartOfDay | None) -> int:
    if h == 0 or h > 12:
        return h
    if hint == "morning" and h < 12:
        return h
    if hint in ("afternoon", "evening") and h < 12:
        return h + 12
    return bare_hour(h)
