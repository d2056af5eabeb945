"""Every table of every service on one metadata: what Alembic migrates and checks against.

Only composition roots import several services; the migration history is one of them.
Importing a models module registers its tables on `Base.metadata`.
"""

from __future__ import annotations

import libs.bus.models
import libs.business.models
import libs.timers.models  # noqa: F401
import services.admin.models
import services.calendar.models
import services.fsm.models
import services.notifier.models
import services.payments.models
import services.reminders.models  # noqa: F401
from libs.db.base import Base

metadata = Base.metadata

__all__ = ["metadata"]
