"""The Google Calendar adapter through the client's own HttpMockSequence: the exact
requests, and how each kind of failure is sorted (retried here, retried by the consumer,
or refused for good)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from google.auth.exceptions import RefreshError

from libs.bus.faults import is_transient
from services.calendar.google import (
    Conflict,
    CredentialRefused,
    GoogleCalendar,
    NotFound,
    Refused,
    RetryPolicy,
    Unavailable,
)
from tests.calendar_kit import (
    CALENDAR_ID,
    FREEBUSY_URI,
    NO_CONTENT,
    OK,
    Request,
    Script,
    Sleeps,
    busy_answer,
    calendar_api,
    delete_uri,
    error,
    events_uri,
)

EVENT = "6f1c2d3e4a5b4c6d8e9f0a1b2c3d4e5f"


async def test_insert_patch_and_delete_are_these_requests() -> None:
    script = Script([OK, OK, NO_CONTENT])
    api = calendar_api(script)
    await api.insert(CALENDAR_ID, {"id": EVENT, "summary": "Haircut"})
    await api.patch(CALENDAR_ID, EVENT, {"summary": "Beard trim"})
    await api.delete(CALENDAR_ID, EVENT)
    assert script.requests == [
        Request("POST", events_uri(), {"id": EVENT, "summary": "Haircut"}),
        Request("PATCH", events_uri(EVENT), {"summary": "Beard trim"}),
        Request("DELETE", delete_uri(EVENT), None),
    ]


async def test_free_busy_asks_for_the_calendar_over_the_window() -> None:
    script = Script([busy_answer(("2026-12-02T20:00:00Z", "2026-12-02T21:00:00Z"))])
    found = await calendar_api(script).busy(
        CALENDAR_ID, datetime(2026, 12, 1, 5, tzinfo=UTC), datetime(2027, 1, 31, 5, tzinfo=UTC))
    assert found == [(datetime(2026, 12, 2, 20, tzinfo=UTC), datetime(2026, 12, 2, 21, tzinfo=UTC))]
    assert script.requests == [Request("POST", FREEBUSY_URI, {
        "timeMin": "2026-12-01T05:00:00Z", "timeMax": "2027-01-31T05:00:00Z",
        "timeZone": "UTC", "items": [{"id": CALENDAR_ID}]})]


async def test_free_busy_naming_the_calendar_unknown_is_not_found() -> None:
    answer = (OK[0], json.dumps({"calendars": {CALENDAR_ID: {
        "errors": [{"domain": "global", "reason": "notFound"}], "busy": []}}}))
    with pytest.raises(NotFound):
        await calendar_api(Script([answer])).busy(
            CALENDAR_ID, datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))


async def test_a_rate_limit_is_waited_out_honouring_retry_after() -> None:
    script = Script([error(429, "rateLimitExceeded", **{"retry-after": "3"}),
                     error(503, "backendError"), OK])
    sleeps = Sleeps()
    await calendar_api(script, sleeps).insert(CALENDAR_ID, {"id": EVENT})
    assert sleeps.waits == [3.0, 1.0]  # Google's Retry-After, then the second backoff
    assert [r.method for r in script.requests] == ["POST", "POST", "POST"]


async def test_a_403_saying_rate_limit_is_retried_too() -> None:
    script = Script([error(403, "userRateLimitExceeded"), OK])
    sleeps = Sleeps()
    await calendar_api(script, sleeps).delete(CALENDAR_ID, EVENT)
    assert sleeps.waits == [0.5]


async def test_still_unavailable_after_the_attempts_is_left_to_the_consumer() -> None:
    script = Script([error(500), error(502), error(503)])
    sleeps = Sleeps()
    with pytest.raises(Unavailable) as raised:
        await calendar_api(script, sleeps).insert(CALENDAR_ID, {"id": EVENT})
    assert len(script.requests) == 3 and sleeps.waits == [0.5, 1.0]
    assert raised.value.retryable and is_transient(raised.value)  # retried for as long as it lasts


async def test_the_waits_stay_within_the_budget() -> None:
    script = Script([error(429, **{"retry-after": "30"}), OK])
    with pytest.raises(Unavailable):
        await calendar_api(script, policy=RetryPolicy(budget_s=10)).insert(CALENDAR_ID, {})
    assert len(script.requests) == 1


@pytest.mark.parametrize(("answer", "kind"), [
    (error(401, "authError"), CredentialRefused),
    (error(403, "forbidden"), CredentialRefused),
    (error(403, "requiredAccessLevel"), CredentialRefused),
    (error(404, "notFound"), NotFound),
    (error(410, "deleted"), NotFound),
    (error(409, "duplicate"), Conflict),
    (error(400, "invalid"), Refused),
])
async def test_refusals_are_not_retried(answer: tuple[dict[str, str], str],
                                        kind: type[Exception]) -> None:
    script = Script([answer])
    sleeps = Sleeps()
    with pytest.raises(kind) as raised:
        await calendar_api(script, sleeps).insert(CALENDAR_ID, {"id": EVENT})
    assert len(script.requests) == 1 and sleeps.waits == []
    assert not is_transient(raised.value)


class RefusingHttp:
    """What an authorized http does when the token cannot be refreshed."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise self.exc


async def test_a_revoked_key_is_a_refused_credential() -> None:
    http = RefusingHttp(RefreshError(  # type: ignore[no-untyped-call]
        "invalid_grant: Invalid JWT Signature.", {"error": "invalid_grant"}))
    with pytest.raises(CredentialRefused, match="invalid_grant"):
        await GoogleCalendar(http, sleep=Sleeps()).insert(CALENDAR_ID, {"id": EVENT})
    assert http.calls == 1


async def test_a_token_endpoint_failing_is_unavailable() -> None:
    http = RefusingHttp(RefreshError("server error", retryable=True))  # type: ignore[no-untyped-call]
    with pytest.raises(Unavailable):
        await GoogleCalendar(http, sleep=Sleeps()).insert(CALENDAR_ID, {"id": EVENT})
    assert http.calls == 3


async def test_the_network_failing_is_unavailable() -> None:
    http = RefusingHttp(ConnectionResetError("reset"))
    with pytest.raises(Unavailable):
        await GoogleCalendar(http, sleep=Sleeps()).delete(CALENDAR_ID, EVENT)
    assert http.calls == 3


async def test_a_bug_is_raised_as_it_is() -> None:
    http = RefusingHttp(KeyError("slot"))
    with pytest.raises(KeyError):
        await GoogleCalendar(http, sleep=Sleeps()).delete(CALENDAR_ID, EVENT)
    assert http.calls == 1
