"""status list index of each e-cert version

Every e-cert version gets an index in its issuing authority's status list, drawn at random and
unique per authority (roadcert.certificates.status). Versions issued before this revision get
theirs here, by the same rule, in id order.

Revision ID: faae244e396b
Revises: 4c4afe5f237d
Create Date: 2026-11-21 13:34:03.471251
"""

import os
import random
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "faae244e396b"
down_revision: str | None = "4c4afe5f237d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of roadcert.certificates.status.list_size as of this revision: a migration must
# not change meaning when the application code does.
_MIN_LIST_SIZE = 1 << 14


def _list_size(count: int) -> int:
    size = _MIN_LIST_SIZE
    while count > size // 2:
        size *= 2
    return size


def _backfill() -> None:
    ecert = sa.table(
        "ecert",
        sa.column("id", sa.Integer),
        sa.column("authority_id", sa.Integer),
        sa.column("status_index", sa.Integer),
    )
    connection = op.get_bind()
    rng = random.Random(os.urandom(32))
    authorities = connection.scalars(
        sa.select(ecert.c.authority_id).where(ecert.c.status_index.is_(None)).distinct()
    ).all()
    for authority_id in authorities:
        mine = ecert.c.authority_id == authority_id
        used = set(
            connection.scalars(
                sa.select(ecert.c.status_index).where(mine, ecert.c.status_index.is_not(None))
            )
        )
        missing = connection.scalars(
            sa.select(ecert.c.id).where(mine, ecert.c.status_index.is_(None)).order_by(ecert.c.id)
        ).all()
        rows = []
        for ecert_id in missing:
            size = _list_size(len(used) + 1)
            while (index := rng.randrange(size)) in used:
                pass
            used.add(index)
            rows.append({"row_id": ecert_id, "index": index})
        connection.execute(
            ecert.update()
            .where(ecert.c.id == sa.bindparam("row_id"))
            .values(status_index=sa.bindparam("index")),
            rows,
        )


def upgrade() -> None:
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_index", sa.Integer(), nullable=True))
    _backfill()
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.alter_column("status_index", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_ecert_authority_id_status_index"), ["authority_id", "status_index"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_ecert_authority_id_status_index"), type_="unique")
        batch_op.drop_column("status_index")
