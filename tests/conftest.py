"""For every test: no Google credentials from a developer's environment or `.env`, so the
calendar service is off unless a test switches it on with its own settings and a mocked
HTTP (tests never call Google)."""

from __future__ import annotations

import os

os.environ["GOOGLE_SERVICE_ACCOUNT_PATH"] = ""  # the environment wins over `.env`
os.environ["GOOGLE_CALENDAR_ID"] = ""
