"""drop indexes no query needs

Every bulk-issued e-cert is an insert into each index of ``ecert``; at a province's million
e-certs that is most of the database's work (SQLite in the signing workers' process, the
PostgreSQL server on the same cores). Two of them serve no query:

- ``ix_ecert_status``: four values. The expiry sweep (status ``valid`` and ``valid_until``
  before today) uses ``ix_ecert_valid_until``; counts by status read the whole table either way;
  list filters by status come with an authority or holder, whose indexes narrow further.
- ``ix_ecert_type_code``: nine values, filtered only beside an authority or holder.

And ``ix_qualification_practitioner_id`` repeats the leading column of the unique
(practitioner_id, category) index, which serves the same look-ups; one index less for each
imported qualification.

Revision ID: 9a41c7e0d2b5
Revises: 7e2b9c4d1a60
Create Date: 2026-11-21 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9a41c7e0d2b5"
down_revision: str | None = "7e2b9c4d1a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_ecert_status", table_name="ecert")
    op.drop_index("ix_ecert_type_code", table_name="ecert")
    op.drop_index("ix_qualification_practitioner_id", table_name="qualification")


def downgrade() -> None:
    op.create_index(
        "ix_qualification_practitioner_id", "qualification", ["practitioner_id"], unique=False
    )
    op.create_index("ix_ecert_type_code", "ecert", ["type_code"], unique=False)
    op.create_index("ix_ecert_status", "ecert", ["status"], unique=False)
