"""e-cert authority index in id order

``ix_ecert_authority_id`` (authority_id) becomes ``ix_ecert_authority_id_id`` (authority_id,
id): as many indexes to maintain on each insert, and a bulk writer's "versions of this
authority written since id N" (certificates/bulk.py) becomes a short range scan on PostgreSQL
instead of a bitmap of every version of the authority met with the primary key. On SQLite
the two are the same index (its entries already end in the rowid).

Revision ID: 7e2b9c4d1a60
Revises: 5d0c7e3a91b4
Create Date: 2026-11-21 20:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e2b9c4d1a60"
down_revision: str | None = "5d0c7e3a91b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.create_index("ix_ecert_authority_id_id", ["authority_id", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_ecert_authority_id"))


def downgrade() -> None:
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ecert_authority_id"), ["authority_id"], unique=False)
        batch_op.drop_index("ix_ecert_authority_id_id")
