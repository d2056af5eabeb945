"""How dates, times and money read in replies (spec: `3:00 PM`, `Wed, Dec 2`, `$15.00`)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal


def fmt_time(value: time | datetime) -> str:
    """US 12-hour clock without a leading zero: `9:05 AM`, `12:00 PM`."""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def fmt_date(value: date | datetime) -> str:
    """`Wed, Dec 2`: weekday and month abbreviated, day without a leading zero."""
    return f"{value:%a}, {value:%b} {value.day}"


def fmt_when(local: datetime) -> str:
    return f"{fmt_date(local)} at {fmt_time(local)}"


def fmt_money(amount: Decimal, currency: str = "usd") -> str:
    """`$15.00` for dollars; other currencies get their code after the amount."""
    quantized = amount.quantize(Decimal("0.01"))
    return f"${quantized:,}" if currency == "usd" else f"{quantized:,} {currency.upper()}"


def fmt_list(items: list[str], conjunction: str = "or") -> str:
    """`a`, `a or b`, `a, b or c`."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
