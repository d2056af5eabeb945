"""Logging setup and phone masking: a full phone number never reaches a log line."""

from __future__ import annotations

import logging
import re

# E.164 (+15555550101) and US-formatted numbers ((212) 555-0100, 212-555-0100); dates,
# times and ids are left alone.
_PHONE = re.compile(r"\+\d{7,15}\b|(?:\+1[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")


def mask_phone(value: str) -> str:
    """`+12125550123` -> `+1******0123`: enough to tell customers apart, not to call them."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return value
    prefix = "+" if value.strip().startswith("+") else ""
    return f"{prefix}{digits[0]}{'*' * (len(digits) - 5)}{digits[-4:]}"


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_phones(record.getMessage())
        record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick is noise
