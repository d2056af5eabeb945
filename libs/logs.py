"""Logging: one JSON object per line (or plain text for people), the message being handled
on every line logged while handling it, and no phone number or secret in any line.

The handling context (`log_context`) lives in a contextvar: the consumer and the timer
ticker set it around each handler call, so lines logged deep inside a handler, or in a
thread it starts (`asyncio.to_thread` copies the context), say which message they are about.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import traceback
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from libs.settings import get_settings

# E.164 (+15555550101) and US-formatted numbers ((212) 555-0100, 212-555-0100); dates,
# times and ids are left alone.
_PHONE = re.compile(r"\+\d{7,15}\b|(?:\+1[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")

_SECRET_NAME = r"[\w.-]*(?:token|secret|key|password|passwd|signature)[\w.-]*"
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    # name=value in a query string or free text: ?hub.verify_token=..., api_key=..., and the
    # same URL-encoded inside another URL (%3D)
    (re.compile(rf"(?i)((?<![\w.-]){_SECRET_NAME}(?:=|%3D))[^&\s#\"'<>,;)]+"), r"\1***"),
    # "name": "value" in JSON
    (re.compile(rf'(?i)("{_SECRET_NAME}"\s*:\s*")(?:[^"\\]|\\.)*"'), r'\1***"'),
    # a password in a URL: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1***@"),
    # an Authorization header's credentials
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}"), r"\1 ***"),
    # Stripe API keys and webhook secrets wherever they appear
    (re.compile(r"\b((?:sk|rk)_(?:live|test)_|whsec_)[A-Za-z0-9]+"), r"\1***"),
)

LOG_FORMATS = ("json", "text")

_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("receptionist_log_context",
                                                         default=None)


def mask_phone(value: str) -> str:
    """`+12125550123` -> `+1******0123`: enough to tell customers apart, not to call them."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return value
    prefix = "+" if value.strip().startswith("+") else ""
    return f"{prefix}{digits[0]}{'*' * (len(digits) - 5)}{digits[-4:]}"


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def mask_secrets(text: str) -> str:
    """Secret-looking values (tokens, keys, passwords, signatures) replaced by `***`."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str) -> str:
    """What may reach a log: secrets first (a numeric token must not pass for a phone)."""
    return mask_phones(mask_secrets(text))


def error_without_message(exc: BaseException) -> str:
    """An exception's type and where it was raised, without its message: for code that
    handles what customers wrote, whose exception messages may quote it."""
    where = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__))).rstrip()
    return f"{type(exc).__qualname__} (message withheld)" + (f"\n{where}" if where else "")


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Every line logged inside the block (by this task and what it starts) carries
    `fields`; None values are left out, inner blocks add to outer ones."""
    merged = {**(_CONTEXT.get() or {}),
              **{name: str(value) for name, value in fields.items() if value is not None}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_log_context() -> Mapping[str, str]:
    return _CONTEXT.get() or {}


class MaskingFilter(logging.Filter):
    """Renders the message once, masked, so no handler after it sees the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad format arguments: keep the template, never the arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service, the handling
    context (correlation_id, business_id, event_id, ...) and the exception, all redacted."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        context = current_log_context()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        service = context.get("service", self.service)
        if service:
            line["service"] = service
        line.update((name, redact(value)) for name, value in context.items()
                    if name != "service")
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For people at a terminal: the usual line, the handling context in brackets."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.service = service

    def formatMessage(self, record: logging.LogRecord) -> str:
        context = dict(current_log_context())
        if self.service:
            context.setdefault("service", self.service)
        fields = " ".join(f"{name}={value}" for name, value in context.items())
        line = super().formatMessage(record)
        return f"{line} [{fields}]" if fields else line

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))  # the exception text too


def make_formatter(fmt: str, service: str | None = None) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(service)
    if fmt == "text":
        return TextFormatter(service)
    raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")


def configure_logging(level: str = "INFO", fmt: str | None = None,
                      service: str | None = None) -> None:
    """Everything, uvicorn's and libraries' lines included, goes through one masked handler.
    `fmt` defaults to the `LOG_FORMAT` setting."""
    if fmt is None:
        fmt = get_settings().log_format
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(make_formatter(fmt, service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick is noise
