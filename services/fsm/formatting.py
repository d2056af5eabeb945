"""How dates, times and money read in replies (spec: `3:00 PM`, `Wed, Dec 2`, `$15.00`; in
Spanish `miércoles 2 de diciembre`, with Babel's names for the days and months).

Pure: the language is a parameter (English by default). Replies reach these through
`services.fsm.i18n`, which passes the language the customer is being answered in.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from babel.dates import format_date, get_day_names

SPANISH_DATE = "EEEE d 'de' MMMM"  # CLDR pattern: `miércoles 2 de diciembre`


def fmt_time(value: time | datetime) -> str:
    """US 12-hour clock without a leading zero: `9:05 AM`, `12:00 PM` (in Spanish too)."""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def fmt_date(value: date | datetime, language: str = "en") -> str:
    """`Wed, Dec 2`: weekday and month abbreviated, day without a leading zero; in Spanish
    `miércoles 2 de diciembre` (the day and month in full, lower case)."""
    if language == "es":
        return format_date(value, format=SPANISH_DATE, locale="es")
    return f"{value:%a}, {value:%b} {value.day}"


def fmt_when(local: datetime, language: str = "en") -> str:
    """`Wed, Dec 2 at 3:00 PM`; `miércoles 2 de diciembre a las 3:00 PM` (`a la 1:00 PM`)."""
    if language == "es":
        article = "la" if local.hour % 12 == 1 else "las"
        return f"{fmt_date(local, language)} a {article} {fmt_time(local)}"
    return f"{fmt_date(local)} at {fmt_time(local)}"


def fmt_weekday(weekday: int, language: str = "en") -> str:
    """A weekday (0 = Monday) abbreviated: `Mon`; `lun`."""
    if language == "es":
        return str(get_day_names("abbreviated", locale="es")[weekday])
    return ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[weekday]


def fmt_money(amount: Decimal, currency: str = "usd") -> str:
    """`$15.00` for dollars; other currencies get their code after the amount."""
    quantized = amount.quantize(Decimal("0.01"))
    return f"${quantized:,}" if currency == "usd" else f"{quantized:,} {currency.upper()}"


def fmt_list(items: list[str], conjunction: str = "or") -> str:
    """`a`, `a or b`, `a, b or c` (the conjunction as given: `o`, `y` in Spanish)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
