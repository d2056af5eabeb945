"""Where the example business profiles are when a command is not told (`--businesses`).

The repository carries its own examples (`examples/businesses/`: the salon, clinic and
barber the scenarios and NLU rows are written for), so the demo, the scenario runner and
`nlu eval` work from a fresh clone. `../shared` is an outside acceptance set: it is used
only when asked for (`--businesses ../shared/fixtures/businesses`).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path("examples") / "businesses"


def default_businesses_dir(cwd: Path | None = None) -> Path:
    """The repository's `examples/businesses` (a source checkout or an editable install),
    else `./examples/businesses` (the container image); the first when neither exists, so an
    error names the expected place."""
    here = Path.cwd() if cwd is None else cwd
    candidates = [REPO / EXAMPLES, here / EXAMPLES]
    return next((c for c in candidates if c.is_dir()), candidates[0])
