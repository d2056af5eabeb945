from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from libs.clock import SimulatedClock
from libs.logs import MaskingFilter, mask_phone, mask_phones


def test_mask_phone_keeps_country_and_last_four() -> None:
    assert mask_phone("+12125550123") == "+1******0123"
    assert mask_phone("short") == "short"


def test_log_records_never_carry_a_full_number(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("reply to %s from %s", "+15555550101", "+1 (212) 555-0100")
    assert "5555550101" not in caplog.text
    assert "+1******0101" in caplog.text
    assert mask_phones("call +15555550101 now") == "call +1******0101 now"
    assert "555-0100" not in mask_phones("or (212) 555-0100")
    untouched = "next run at 2026-11-27 08:48:40 UTC, booking 1796000000, ref 20261127"
    assert mask_phones(untouched) == untouched


def test_simulated_clock_moves_only_forward() -> None:
    clock = SimulatedClock(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    clock.advance(timedelta(minutes=30))
    assert clock.now() == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        SimulatedClock(datetime(2026, 12, 1, 14, 0))
