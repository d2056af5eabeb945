"""WhatsApp Cloud API webhooks: signature check and payload mapping (pure functions)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from libs.contracts.vocabulary import DeliveryState

WHATSAPP_STATUSES: dict[str, DeliveryState] = {
    "sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


def signature_valid(app_secret: str, raw_body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`."""
    if not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta would send (tests and the scenario runner use it)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WhatsAppMessage:
    phone_number_id: str
    message_id: str
    sender: str  # E.164
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class WhatsAppStatus:
    phone_number_id: str
    message_id: str
    status: DeliveryState
    error_code: str | None
    at: datetime


class PayloadError(ValueError):
    """The body is not a WhatsApp webhook we can read."""


def parse(payload: Any) -> tuple[list[WhatsAppMessage], list[WhatsAppStatus]]:
    """Text and button replies, and delivery statuses, from one webhook body."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise PayloadError("not a whatsapp_business_account webhook")
    messages: list[WhatsAppMessage] = []
    statuses: list[WhatsAppStatus] = []
    try:
        for entry in payload.get("entry", []):
            for change in entry.get("changes", []):
                value = change.get("value", {})
                number_id = str(value["metadata"]["phone_number_id"])
                for msg in value.get("messages", []):
                    text = _text_of(msg)
                    if text is None:
                        continue  # images, stickers...: nothing to read
                    messages.append(WhatsAppMessage(
                        phone_number_id=number_id, message_id=str(msg["id"]),
                        sender="+" + str(msg["from"]).lstrip("+"), text=text,
                        sent_at=_ts(msg.get("timestamp"))))
                for st in value.get("statuses", []):
                    status = WHATSAPP_STATUSES.get(str(st["status"]))
                    if status is None:
                        continue  # a status we do not track (e.g. "deleted")
                    errors = st.get("errors") or []
                    statuses.append(WhatsAppStatus(
                        phone_number_id=number_id, message_id=str(st["id"]),
                        status=status,
                        error_code=str(errors[0].get("code")) if errors else None,
                        at=_ts(st.get("timestamp"))))
    except (KeyError, TypeError, AttributeError) as exc:
        raise PayloadError(f"malformed WhatsApp webhook: missing {exc}") from exc
    return messages, statuses


def _text_of(msg: dict[str, Any]) -> str | None:
    """What the customer said: typed text, or the button they tapped as the same text they
    could have typed: a reply button's title (notifier's buttons carry their text as id
    too), a template quick reply's text (else its payload)."""
    kind = msg.get("type")
    if kind == "text":
        return str(msg["text"]["body"])
    if kind == "button":
        button = msg["button"]
        return str(button.get("text") or button.get("payload") or "") or None
    if kind == "interactive":
        inner = msg["interactive"]
        reply = inner.get("button_reply") or inner.get("list_reply") or {}
        return str(reply.get("title") or reply.get("id") or "") or None
    return None


def _ts(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def message_payload(*, phone_number_id: str, message_id: str, sender: str, text: str,
                    timestamp: int) -> dict[str, Any]:
    """A webhook body shaped as Meta sends it (tests and the scenario runner use it)."""
    digits = sender.lstrip("+")
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": digits}],
            "messages": [{"from": digits, "id": message_id, "timestamp": str(timestamp),
                          "type": "text", "text": {"body": text}}],
        }}]}],
    }
