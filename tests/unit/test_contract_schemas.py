"""Released contracts stay readable: committed JSON Schemas, the compatibility rule, parsing."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, create_model

from libs.contracts import (
    Envelope,
    InvalidEvent,
    UnknownEventType,
    make_envelope,
    parse_envelope,
    parse_payload,
)
from libs.contracts.events import (
    BookingHeld,
    InboundMessageReceived,
    MessageUnderstood,
    Slots,
)
from libs.contracts.registry import ALL_MESSAGES
from libs.contracts.schema_registry import (
    compatibility_problems,
    current_schemas,
    main,
    released_schemas,
    write_schemas,
)

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
RELEASED = released_schemas()
UNDERSTOOD = MessageUnderstood.TYPE


def problems_of(model: type[BaseModel]) -> list[str]:
    """Check a variant model against the committed schema it would replace."""
    return compatibility_problems(RELEASED[UNDERSTOOD], model.model_json_schema())


def variant(**fields: Any) -> type[BaseModel]:
    """MessageUnderstood with some fields redefined, as a careless edit would do."""
    model: type[BaseModel] = create_model("MessageUnderstood", __base__=MessageUnderstood, **fields)
    return model


def slots_variant(**fields: Any) -> type[BaseModel]:
    """MessageUnderstood whose nested `Slots` model ($defs/Slots) is redefined."""
    slots: type[BaseModel] = create_model("Slots", __base__=Slots, **fields)
    return variant(slots=(slots, ...))


def edited_copy() -> dict[str, Any]:
    """A copy of the released MessageUnderstood schema to edit by hand."""
    return copy.deepcopy(RELEASED[UNDERSTOOD])


def problems_of_edit(edited: dict[str, Any]) -> list[str]:
    return compatibility_problems(RELEASED[UNDERSTOOD], edited)


def assert_breaks(problems: list[str], path: str, words: str) -> None:
    assert problems, "expected the change to be reported as incompatible"
    assert any(p.startswith(f"{path}:") and words in p for p in problems), problems


# --- the committed schemas ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(current_schemas()))
def test_committed_schema_exists_and_current_model_is_compatible(name: str) -> None:
    assert name in RELEASED, f"no committed schema for {name}: run `make schemas`"
    root = "envelope" if name == "envelope" else "payload"
    assert compatibility_problems(RELEASED[name], current_schemas()[name], root=root) == []


def test_the_committed_schemas_are_exactly_the_message_types() -> None:
    """Every message class has a released schema, and every released schema still has its
    class: a contract is never silently dropped or renamed."""
    assert set(RELEASED) == {cls.TYPE for cls in ALL_MESSAGES} | {"envelope"}


def test_removing_or_renaming_a_released_contract_fails_the_check(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    # A released type whose model was deleted (or renamed to another TYPE) stays on disk.
    (tmp_path / "booking.held.v0.json").write_text(
        (tmp_path / "booking.held.v1.json").read_text())
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert main(["--dir", str(tmp_path)]) == 1  # and regenerating refuses to paper over it


def test_check_command(tmp_path: Path) -> None:
    assert main(["--check", "--dir", str(tmp_path)]) == 1  # nothing committed yet
    written = write_schemas(tmp_path)
    assert written[0].read_text().endswith("}\n")
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / f"{UNDERSTOOD}.json").write_text('{"properties": {"gone": {}}}\n')
    assert main(["--check", "--dir", str(tmp_path)]) == 1


# --- compatible changes ------------------------------------------------------------------


def test_added_optional_field_is_compatible() -> None:
    assert problems_of(variant(note=(str | None, None))) == []


def test_added_optional_field_in_nested_model_is_compatible() -> None:
    assert problems_of(slots_variant(staff=(str | None, None))) == []


def test_cosmetic_changes_are_compatible() -> None:
    edited = edited_copy()
    edited["description"] = "reworded"
    edited["properties"]["text"]["title"] = "Body"
    edited["$defs"]["Slots"]["properties"]["service"]["default"] = "haircut"
    assert problems_of_edit(edited) == []


# --- breaking changes --------------------------------------------------------------------


def test_removed_field_breaks() -> None:
    edited = edited_copy()
    del edited["properties"]["extractor"]
    edited["required"].remove("extractor")
    assert_breaks(problems_of_edit(edited), "payload.extractor", "removed")


def test_new_required_field_breaks() -> None:
    assert_breaks(problems_of(variant(locale=(str, ...))), "payload.locale", "new required")


def test_type_change_breaks() -> None:
    assert_breaks(problems_of(variant(confidence=(str, ...))), "payload.confidence", "type changed")


def test_narrowed_literal_breaks() -> None:
    narrowed = variant(channel=(Literal["sms", "whatsapp"], ...))
    assert_breaks(problems_of(narrowed), "payload.channel", "enum narrowed")


def test_widened_literal_breaks() -> None:
    widened = variant(channel=(Literal["sms", "whatsapp", "web", "email"], ...))
    assert_breaks(problems_of(widened), "payload.channel", "enum widened")


def test_required_to_optional_breaks() -> None:
    assert_breaks(problems_of(variant(text=(str, ""))), "payload.text", "no longer required")


def test_optional_to_required_breaks() -> None:
    assert_breaks(problems_of(slots_variant(service=(str, ...))), "payload.slots.service", "became")


def test_nested_field_type_change_breaks() -> None:
    changed = slots_variant(part_of_day=(int | None, None))
    assert_breaks(problems_of(changed), "payload.slots.part_of_day.anyOf[0]", "type changed")


def test_format_change_breaks() -> None:
    changed = slots_variant(date=(dt.datetime | None, None))
    assert_breaks(problems_of(changed), "payload.slots.date.anyOf[0]", "format changed")


def test_constraint_change_breaks() -> None:
    edited = edited_copy()
    edited["properties"]["confidence"]["maximum"] = 100
    assert_breaks(problems_of_edit(edited), "payload.confidence", "maximum")


def test_ref_target_change_breaks() -> None:
    class OtherSlots(Slots):
        pass

    assert_breaks(problems_of(variant(slots=(OtherSlots, ...))), "payload.slots", "$ref changed")


# --- envelope, registry, routing ---------------------------------------------------------


def held() -> BookingHeld:
    return BookingHeld(
        booking_id=uuid.uuid4(), reference="AB12", customer="+15550100", channel="sms",
        service="haircut", starts_at=NOW, ends_at=NOW + dt.timedelta(minutes=30), resource=1,
        status="held", deposit_status="pending", deposit_amount=Decimal("12.50"),
        hold_expires_at=NOW + dt.timedelta(minutes=15),
    )


def test_envelope_round_trips_through_json() -> None:
    event = held()
    envelope = make_envelope(event, business_id="biz-1", occurred_at=NOW)
    again = Envelope.from_json(envelope.to_json())
    assert again == envelope
    assert parse_payload(parse_envelope(envelope.to_json())) == event


def test_unknown_event_type_is_refused() -> None:
    envelope = make_envelope(held(), business_id="biz-1", occurred_at=NOW)
    with pytest.raises(UnknownEventType):
        parse_payload(envelope.model_copy(update={"type": "booking.teleported.v1"}))


def test_bad_payload_is_refused() -> None:
    envelope = make_envelope(held(), business_id="biz-1", occurred_at=NOW)
    with pytest.raises(InvalidEvent):
        parse_payload(envelope.model_copy(update={"payload": {"booking_id": "not-a-uuid"}}))


def test_strict_types_refuse_a_number_for_a_string() -> None:
    message = InboundMessageReceived(
        channel="sms", provider_message_id="SM1", customer="+15550100", to="+15550199",
        text="hi", received_at=NOW,
    )
    envelope = make_envelope(message, business_id="biz-1", occurred_at=NOW)
    bad = envelope.model_copy(update={"payload": {**envelope.payload, "text": 123}})
    with pytest.raises(InvalidEvent, match="text"):
        parse_payload(bad)
