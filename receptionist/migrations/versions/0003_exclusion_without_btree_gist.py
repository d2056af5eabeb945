"""the bookings exclusion constraint without the btree_gist extension

Equality of the business and the resource is the overlap of one-point ranges, which plain
GiST indexes, so the schema runs on a PostgreSQL without contrib modules (the demo's embedded
server). Databases created before this change still carry the btree_gist form; this
replaces it (in one transaction, so no moment is unguarded).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CONSTRAINT = "no_overlapping_live_bookings"


def upgrade() -> None:
    op.execute(f"ALTER TABLE bookings DROP CONSTRAINT IF EXISTS {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE bookings ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist ("
        "int8range(hashtextextended(business_id, 0), hashtextextended(business_id, 0), '[]')"
        " WITH &&, int4range(resource, resource, '[]') WITH &&, "
        "tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status IN ('held','confirmed'))")


def downgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(f"ALTER TABLE bookings DROP CONSTRAINT IF EXISTS {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE bookings ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist ("
        "business_id WITH =, resource WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status IN ('held','confirmed'))")
