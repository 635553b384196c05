"""import digests and operator legacy id

``roadcert import`` (roadcert.migration.importer) keeps, on every ledger row it writes, the digest
of the export row it came from, so that re-importing the same export changes nothing and a newer
export's changed rows are found. Operators also keep their 业户编号 from the old 运政系统, the
key by which an export's licences and vehicles name their operator. Only new nullable columns:
records entered by clerks have neither.

Revision ID: a16e8b42769c
Revises: b20cb2be1f31
Create Date: 2026-11-21 16:29:16.707561
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a16e8b42769c"
down_revision: str | None = "b20cb2be1f31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIGESTED = ("licence", "operator", "practitioner", "qualification", "vehicle")


def upgrade() -> None:
    for table in _DIGESTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("import_digest", sa.String(length=32), nullable=True))
    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legacy_id", sa.String(length=60), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_operator_legacy_id"), ["legacy_id"])


def downgrade() -> None:
    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_operator_legacy_id"), type_="unique")
        batch_op.drop_column("legacy_id")
    for table in _DIGESTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("import_digest")
