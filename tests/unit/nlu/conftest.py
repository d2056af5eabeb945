"""Catalogs for the three fixture businesses and one warm offline extractor per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.business.fixtures import default_businesses_dir
from services.nlu.catalog import Catalog
from services.nlu.rules import RulesExtractor
from tests.helpers import NLU_SETS

DEV = NLU_SETS / "dev_en.jsonl"
"""Our own English rows, used while writing the rules (the held-out sets are not)."""


@pytest.fixture(scope="session")
def businesses_dir() -> Path:
    directory = default_businesses_dir()
    assert (directory / "salon.yaml").is_file(), f"fixture businesses not found in {directory}"
    return directory


@pytest.fixture(scope="session")
def catalogs(businesses_dir: Path) -> dict[str, Catalog]:
    return {b: Catalog.from_file(businesses_dir / f"{b}.yaml")
            for b in ("salon", "barber", "clinic")}


@pytest.fixture(scope="session")
def rules() -> RulesExtractor:
    return RulesExtractor()

