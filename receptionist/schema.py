"""Every table of every service on one metadata: what Alembic migrates and checks against.

Only composition roots import several services; the migration history is one of them.
"""

from __future__ import annotations

import libs.bus.models
import libs.business.models
import libs.timers.models
import services.fsm.models
import services.notifier.models
import services.payments.models
from libs.db.base import Base

metadata = Base.metadata

__all__ = ["metadata"]
_MODULES = (
    libs.bus.models, libs.business.models, libs.timers.models,
    services.fsm.models, services.notifier.models, services.payments.models,
)
