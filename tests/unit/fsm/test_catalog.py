"""The replies' message catalog (docs/conversations.md, "Spanish"): every customer-facing
msgid in fsm has a Spanish translation with the same placeholders, the catalog holds nothing
the code no longer says, and the committed `.mo` is the `.po` compiled (`make messages`)."""

from __future__ import annotations

import inspect
import io
import string
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from libs.business.profile import BusinessProfile
from services.fsm import i18n, replies, replies_more, replies_staff
from tests.helpers import REPO

FSM = REPO / "services" / "fsm"
PO = i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

MsgId = str | tuple[str, ...]


def extracted() -> dict[MsgId, str]:
    """What `make messages` extracts from the code now: msgid -> where it is."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[MsgId, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            FSM, method_map, options_map):
        key = message if isinstance(message, str) else tuple(m for m in message if m)
        found.setdefault(key, f"services/fsm/{filename}:{lineno}")
    return found


def spanish() -> Catalog:
    with PO.open("rb") as po:
        return read_po(po, locale="es")


def entries(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_msgid_in_the_code_has_a_spanish_translation() -> None:
    catalog = spanish()
    untranslated = []
    for msgid, where in extracted().items():
        message = catalog.get(msgid if isinstance(msgid, str) else msgid[0])
        strings = ([] if message is None else
                   [message.string] if isinstance(message.string, str) else
                   list(message.string or ()))
        if message is None or message.fuzzy or not strings or not all(strings):
            untranslated.append(f"{where}: {msgid!r}")
    assert not untranslated, ("not translated in services/fsm/locale/es (run `make messages` "
                              "and translate them):\n" + "\n".join(untranslated))


def test_the_catalog_holds_only_what_the_code_says() -> None:
    code = {m if isinstance(m, str) else m[0] for m in extracted()}
    stale = [message.id for message in entries(spanish())
             if (message.id if isinstance(message.id, str) else message.id[0]) not in code]
    assert not stale, f"in the catalog but no longer in the code (run `make messages`): {stale}"


def test_translations_keep_the_msgids_placeholders() -> None:
    wrong = []
    for message in entries(spanish()):
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = ([message.string] if isinstance(message.string, str)
                   else list(message.string or ()))
        expected = set().union(*(fields(i) for i in ids))
        used = [fields(s) for s in strings]
        # A plural form may leave the count out ("una cita"), never add a placeholder.
        if set().union(*used) != expected or any(u - expected for u in used):
            wrong.append((message.id, message.string))
    assert not wrong


def test_the_committed_mo_is_the_po_compiled() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, spanish())
    assert MO.read_bytes() == compiled.getvalue(), "run `make messages` (pybabel compile)"


# --- every customer-facing reply reads differently in Spanish -----------------------------

START = datetime(2026, 12, 2, 15, 0)
SAMPLES: dict[str, Any] = {
    "name": "Haircut", "first": "Haircut", "second": "Beard Trim", "service": "Haircut",
    "start": START, "then": datetime(2026, 12, 2, 16, 0), "new_start": datetime(2026, 12, 3, 11),
    "old_start": START, "hold_until": datetime(2026, 12, 2, 9, 15), "to": START,
    "their_time": datetime(2026, 12, 2, 12, 0), "zone": "America/Chicago",
    "reference": "ABC123", "references": ["ABC123", "XYZ789"], "on": date(2026, 12, 2),
    "free": [START], "starts": [START], "alternatives": [START], "window": "morning",
    "deposit": Decimal("15.00"), "amount": Decimal("15.00"), "top_up": Decimal("10.00"),
    "already_paid": Decimal("15.00"), "note": "", "url": "https://pay.example/x",
    "lines": [("Haircut", START, "confirmed")], "action": "cancel",
    "options": [("Haircut", START), ("Color", START)], "refund": True, "offered": None,
    "at": time(15, 0), "part_of_day": None, "prompt": None, "text": "where are you?",
    "minutes": 15, "most": 2, "reason": "fully_booked", "value": START,
}
NOT_FOR_CUSTOMERS = {
    "phone_for_people", "faq_topic", "help_text", "staff_alert_person", "staff_late_refund",
    "staff_move_refused", "zone_note", "when_list", "at_time",
}


def customer_replies() -> list[Any]:
    found = []
    for module in (replies, replies_more, replies_staff):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") \
                    and name not in NOT_FOR_CUSTOMERS:
                found.append(pytest.param(fn, id=f"{module.__name__.rsplit('.', 1)[1]}.{name}"))
    return found


@pytest.mark.parametrize("reply", customer_replies())
def test_every_customer_facing_reply_has_a_spanish_version(
        reply: Callable[..., str], salon: BusinessProfile) -> None:
    params = inspect.signature(reply).parameters
    args = {p: salon if p == "profile" else SAMPLES[p] for p in params
            if params[p].default is inspect.Parameter.empty or p in SAMPLES}
    with i18n.speaking("en", salon):
        english = reply(**args)
    with i18n.speaking("es", salon):
        spanish_text = reply(**args)
    assert spanish_text != english
