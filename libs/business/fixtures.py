"""Where the shared business profiles are when a command is not told (`--businesses`).

`receptionist scenario run` and `receptionist nlu eval` both default to
`../shared/fixtures/businesses`, so both ask here and cannot disagree about the order.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROFILES = Path("fixtures") / "businesses"


def default_businesses_dir(cwd: Path | None = None) -> Path:
    """`../shared/fixtures/businesses` from the working directory, else `$RECEPTIONIST_SHARED`'s,
    else the repository's sibling `shared/`; the first candidate when none exists, so the
    error names the expected place."""
    here = Path.cwd() if cwd is None else cwd
    candidates = [here.parent / "shared" / PROFILES]
    shared = os.environ.get("RECEPTIONIST_SHARED")
    if shared:
        candidates.append(Path(shared) / PROFILES)
    candidates.append(REPO.parent / "shared" / PROFILES)
    return next((c for c in candidates if c.is_dir()), candidates[0])
