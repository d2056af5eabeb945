"""Google Calendar through the official client (`google-api-python-client`, `google-auth`).

The API is described by the discovery document the client ships (`static_discovery=True`):
nothing is fetched to build it. The client is synchronous (httplib2), so each request runs
in a worker thread, one at a time per process (an `httplib2.Http` is not thread-safe; a
calendar process takes one message at a time anyway).

Failures are sorted once, here (docs/operations.md, "Google Calendar"):

- `Unavailable` (`retryable`): 429, 5xx, a 403 that says a rate limit or quota was hit, the
  network, the token endpoint unreachable. Retried here with a backoff (Google's
  `Retry-After` when it gives one), a few times within a budget; then raised, and the
  consumer keeps retrying the message for as long as the outage lasts.
- `CredentialRefused`: 401, any other 403 (the calendar is not shared with the service
  account), or a token refresh refused (a revoked or deleted key). Retrying cannot help.
- `NotFound` (404, 410), `Conflict` (409): the caller decides what they mean.
- `Refused`: any other 4xx: the request itself is wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httplib2
from google.auth import exceptions as auth_errors
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/calendar",)
RATE_LIMITED = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded",
                          "dailyLimitExceeded"})
"""Reasons Google gives with a 403 that mean "later", not "never"."""
MAX_RETRY_AFTER_S = 60.0

Sleep = Callable[[float], Awaitable[None]]


class CalendarError(Exception):
    """A Google Calendar request failed; `reason` says how (never the request's body)."""

    retryable = False

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Unavailable(CalendarError):
    """Try again later: a rate limit, Google's own failure or the network."""

    retryable = True

    def __init__(self, reason: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class CredentialRefused(CalendarError):
    """The service account's credential was refused, or it may not use this calendar."""


class NotFound(CalendarError):
    """404 or 410: the event (or the calendar) is not there."""


class Conflict(CalendarError):
    """409: an event with this id exists already (possibly deleted, which Google keeps)."""


class Refused(CalendarError):
    """Any other 4xx: Google refused the request as written."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    """Requests per call, at most, while Google answers 429 or 5xx or cannot be reached."""
    base_s: float = 0.5
    """The first backoff; each next one doubles, up to `max_wait_s`."""
    max_wait_s: float = 8.0
    budget_s: float = 20.0
    """Seconds of waiting between the requests of one call, in all."""

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """The wait after failed request number `attempt` (1-based)."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
        return float(min(self.max_wait_s, self.base_s * 2 ** (attempt - 1)))


Busy = tuple[datetime, datetime]


class GoogleCalendar:
    """The four requests the calendar service makes. `http` is what the client sends
    through: an authorized `httplib2.Http` in production (`from_service_account`), the
    client's own `HttpMock`/`HttpMockSequence` in tests."""

    def __init__(self, http: Any, *, policy: RetryPolicy | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._service = build("calendar", "v3", http=http, static_discovery=True,
                              cache_discovery=False)
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._lock = asyncio.Lock()

    @classmethod
    def from_service_account(cls, path: str, *, timeout_s: float,
                             policy: RetryPolicy | None = None) -> GoogleCalendar:
        """Raises OSError (no such file) or ValueError (not a service account key)."""
        from google.oauth2 import service_account
        from google_auth_httplib2 import AuthorizedHttp

        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            path, scopes=list(SCOPES))
        http = AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout_s))
        return cls(http, policy=policy)

    async def insert(self, calendar_id: str, body: dict[str, Any]) -> None:
        await self._call(lambda: self._service.events().insert(
            calendarId=calendar_id, body=body))

    async def patch(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> None:
        await self._call(lambda: self._service.events().patch(
            calendarId=calendar_id, eventId=event_id, body=body))

    async def delete(self, calendar_id: str, event_id: str) -> None:
        await self._call(lambda: self._service.events().delete(
            calendarId=calendar_id, eventId=event_id))

    async def busy(self, calendar_id: str, start: datetime, end: datetime) -> list[Busy]:
        """The calendar's busy ranges in `[start, end)` (free/busy: opaque events only)."""
        answer = await self._call(lambda: self._service.freebusy().query(body={
            "timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "timeZone": "UTC",
            "items": [{"id": calendar_id}]}))
        found = (answer or {}).get("calendars", {}).get(calendar_id)
        if found is None:
            raise NotFound("free/busy answered without the calendar asked for")
        errors = [e.get("reason", "unknown") for e in found.get("errors") or []]
        if errors:
            if any(reason in ("notFound", "forbidden") for reason in errors):
                raise NotFound(f"free/busy: {', '.join(errors)}")
            raise Unavailable(f"free/busy: {', '.join(errors)}")
        return [(_parse(b["start"]), _parse(b["end"])) for b in found.get("busy") or []]

    async def _call(self, request: Callable[[], Any]) -> Any:
        """One request, retried while Google is unavailable, within the policy's bounds."""
        policy = self._policy
        waited = 0.0
        for attempt in range(1, policy.attempts + 1):
            try:
                async with self._lock:
                    return await asyncio.to_thread(lambda: request().execute())
            except Exception as exc:
                error = classify(exc)
                if error is None:
                    raise
                if not isinstance(error, Unavailable) or attempt == policy.attempts:
                    raise error from exc
                wait = policy.wait(attempt, error.retry_after)
                if waited + wait > policy.budget_s:
                    raise error from exc
                log.info("Google Calendar unavailable (%s); trying again in %.1fs",
                         error.reason, wait)
                waited += wait
                await self._sleep(wait)
        raise AssertionError("unreachable: attempts >= 1")  # pragma: no cover


def classify(exc: BaseException) -> CalendarError | None:
    """What a failure means (None: not Google's; a bug to raise as it is)."""
    if isinstance(exc, HttpError):
        status = int(exc.resp.status)
        reason = _reason(exc)
        text = f"Google answered {status}" + (f" ({reason})" if reason else "")
        if status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMITED):
            return Unavailable(text, status=status, retry_after=_retry_after(exc))
        if status in (401, 403):
            return CredentialRefused(text, status=status)
        if status in (404, 410):
            return NotFound(text, status=status)
        if status == 409:
            return Conflict(text, status=status)
        return Refused(text, status=status)
    if isinstance(exc, auth_errors.RefreshError):
        if exc.retryable:
            return Unavailable(f"token refresh failed: {type(exc).__name__}")
        return CredentialRefused(f"the token refresh was refused ({_first_line(exc)})")
    if isinstance(exc, auth_errors.TransportError | httplib2.HttpLib2Error | OSError):
        return Unavailable(f"network: {type(exc).__name__}")
    return None


def _reason(exc: HttpError) -> str:
    """Google's machine-readable reason (`rateLimitExceeded`, `notFound`...), if any."""
    try:
        error = json.loads(exc.content or b"{}").get("error", {})
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    for item in error.get("errors") or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"])
    return str(error.get("status") or "")


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: back off as usual


def _first_line(exc: BaseException) -> str:
    """The refusal's first words (`invalid_grant: ...`), which name no secret."""
    return (str(exc.args[0]) if exc.args else type(exc).__name__).splitlines()[0][:200]


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
