"""calendar, defined once: every booking mirrored into the business's Google Calendar, and
the business's own busy times read back for fsm to block (docs/architecture.md, "Calendar").

It runs only with Google configured: `GOOGLE_SERVICE_ACCOUNT_PATH` names the service
account's key file. Without it the service is switched off (`enabled`): no queue is bound
to the booking events (nothing piles up), no job polls, and a process says so once.
"""

from __future__ import annotations

from datetime import timedelta

from libs.runtime.definition import ServiceDefinition, Wiring
from libs.settings import Settings
from services.calendar.google import GoogleCalendar
from services.calendar.handlers import HANDLERS, CalendarDeps, prune_calendar
from services.calendar.scheduled import POLL_BUSY

OFF_NOTE = "calendar sync is off: GOOGLE_SERVICE_ACCOUNT_PATH is not set"


class CalendarNotConfigured(SystemExit):
    """calendar cannot start: its service account key cannot be read."""


def calendar_enabled(settings: Settings) -> bool:
    """On when a service account key is named (blank counts as unset)."""
    return bool((settings.google_service_account_path or "").strip())


def calendar_deps(wiring: Wiring) -> CalendarDeps:
    settings = wiring.settings
    path = (settings.google_service_account_path or "").strip()
    try:
        api = GoogleCalendar.from_service_account(path, timeout_s=settings.google_api_timeout_s)
    except (OSError, ValueError) as exc:
        raise CalendarNotConfigured(
            f"calendar: GOOGLE_SERVICE_ACCOUNT_PATH={path} is not a readable service account "
            f"key ({type(exc).__name__})") from exc
    return CalendarDeps(api=api,
                        default_calendar_id=(settings.google_calendar_id or "").strip() or None,
                        poll_every=timedelta(minutes=settings.calendar_busy_poll_minutes))


DEFINITION = ServiceDefinition(name="calendar", deps=calendar_deps, handlers=HANDLERS,
                               jobs=(POLL_BUSY,), prune=prune_calendar,
                               enabled=calendar_enabled, off_note=OFF_NOTE)
