"""The console script: `business import` accepts the fixtures and refuses a broken file
with every problem listed and nothing written; `migrate` is idempotent."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from receptionist.cli import main
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration

BROKEN = """\
id: broken
name: Broken Salon
address: "1 Main St"
phone: "+12125550111"
owner_phone: "+12125550112"
timezone: Mars/Olympus
currency: usd
hours:
  mon: [["09:00", "12:00"], ["11:00", "15:00"]]
services:
  - name: Haircut
    price: "-5.00"
colour: blue
"""


def count_businesses(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM businesses").fetchone()
    return int(row[0]) if row else 0


def test_business_import_and_refusal(database_url: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE businesses CASCADE")
    fixtures = sorted(str(p) for p in FIXTURE_BUSINESSES.glob("*.yaml"))
    assert main(["business", "import", *fixtures, "--database-url", database_url]) == 0
    assert "created" in capsys.readouterr().out
    assert count_businesses(database_url) == 3

    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    assert main(["business", "import", str(broken), "--database-url", database_url]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err
    for path in ("timezone", "hours.mon", "services[0].duration_minutes",
                 "services[0].price", "colour"):
        assert path in err, path
    assert count_businesses(database_url) == 3


def test_migrate_is_idempotent(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", database_url]) == 0
    assert "head" in capsys.readouterr().out
