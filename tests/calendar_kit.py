"""Google Calendar in tests: the client's own `HttpMockSequence`, scripted answer by answer,
and the requests it was sent, read back (method, URI, JSON body). Nothing reaches Google."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from googleapiclient.http import HttpMockSequence

from services.calendar.google import GoogleCalendar, RetryPolicy

CALENDAR_ID = "team@group.calendar.google.com"
API = "https://www.googleapis.com/calendar/v3"

Answer = tuple[dict[str, str], str]
OK: Answer = ({"status": "200"}, "{}")
NO_CONTENT: Answer = ({"status": "204"}, "")


def error(status: int, reason: str = "", **headers: str) -> Answer:
    """Google's error answer: `{"error": {"code", "message", "errors": [{"reason"}]}}`."""
    body = {"error": {"code": status, "message": reason or "error",
                      "errors": [{"domain": "global", "reason": reason}] if reason else []}}
    return {"status": str(status), **headers}, json.dumps(body)


def busy_answer(*ranges: tuple[str, str], calendar_id: str = CALENDAR_ID) -> Answer:
    return OK[0], json.dumps({"kind": "calendar#freeBusy", "calendars": {calendar_id: {
        "busy": [{"start": s, "end": e} for s, e in ranges]}}})


def events_uri(event_id: str | None = None, calendar_id: str = CALENDAR_ID) -> str:
    base = f"{API}/calendars/{quote(calendar_id, safe='')}/events"
    return f"{base}?alt=json" if event_id is None else f"{base}/{event_id}?alt=json"


def delete_uri(event_id: str, calendar_id: str = CALENDAR_ID) -> str:
    return f"{API}/calendars/{quote(calendar_id, safe='')}/events/{event_id}?"


FREEBUSY_URI = f"{API}/freeBusy?alt=json"


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    body: Any


class Script(HttpMockSequence):  # type: ignore[misc]
    """Answers in order; a request beyond the script fails the test."""

    def __init__(self, answers: list[Answer] | None = None) -> None:
        super().__init__(list(answers or []))

    def answer(self, *answers: Answer) -> Script:
        self._iterable.extend(answers)
        return self

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: Any = None, redirections: int = 1,
                connection_type: Any = None) -> Any:
        if not self._iterable:
            raise AssertionError(f"unexpected Google request: {method} {uri} {body}")
        return super().request(uri, method, body, headers, redirections, connection_type)

    @property
    def requests(self) -> list[Request]:
        return [Request(method, uri, json.loads(body) if body else None)
                for uri, method, body, _ in self.request_sequence]

    def take(self) -> list[Request]:
        """The requests so far, forgetting them."""
        taken = self.requests
        self.request_sequence.clear()
        return taken

    @property
    def unanswered(self) -> int:
        return len(self._iterable)


class Sleeps:
    """An injected sleep that records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def calendar_api(script: Script, sleeps: Sleeps | None = None,
                 policy: RetryPolicy | None = None) -> GoogleCalendar:
    return GoogleCalendar(script, policy=policy, sleep=sleeps or Sleeps())
