"""The envelope every message on the bus travels in (docs/architecture.md, "The envelope")."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

# Namespace for deterministic event ids: the same provider id always gives the same event id,
# so a redelivered webhook dedupes in every inbox downstream.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1c3e-7d8a-4c55-9a4b-5d0c2e7b9f10")


def deterministic_event_id(*parts: str) -> uuid.UUID:
    """An event id derived from a source's own identifiers (e.g. provider + message id)."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join(parts))


class Envelope(BaseModel):
    """Routing and tracing fields shared by every event; `payload` is validated per `type`.

    Unknown keys are ignored (a tolerant reader) so a producer may add optional fields
    without breaking consumers that have not upgraded yet; types are strict.
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    event_id: uuid.UUID
    type: str
    occurred_at: AwareDatetime
    business_id: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> Envelope:
        return cls.model_validate_json(body)

