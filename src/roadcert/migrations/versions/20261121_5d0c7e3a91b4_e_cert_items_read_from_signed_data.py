"""e-cert items read from signed_data

An e-cert version kept its metadata and face items twice: as JSON columns and inside
``signed_data``, the deterministic CBOR that was signed. The JSON copies were 40 % of each row
and their encoding a tenth of the CPU of bulk issuance; ``Ecert.metadata_items`` and
``Ecert.face`` now read the signed bytes, the record itself. Downgrading restores the columns
from ``signed_data``.

Revision ID: 5d0c7e3a91b4
Revises: a16e8b42769c
Create Date: 2026-11-21 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d0c7e3a91b4"
down_revision: str | None = "a16e8b42769c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.drop_column("face")
        batch_op.drop_column("metadata_items")


def downgrade() -> None:
    from roadcert.certificates.faces import document_items
    from roadcert.crypto import cbor

    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metadata_items", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("face", sa.JSON(), nullable=True))
    ecert = sa.table(
        "ecert",
        sa.column("id", sa.Integer),
        sa.column("type_code", sa.String),
        sa.column("signed_data", sa.LargeBinary),
        sa.column("metadata_items", sa.JSON),
        sa.column("face", sa.JSON),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(ecert.c.id, ecert.c.type_code, ecert.c.signed_data)
            .where(ecert.c.id > last)
            .order_by(ecert.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        values = []
        for row_id, type_code, signed in rows:
            try:
                meta, face = document_items(type_code, cbor.decode(signed))
            except Exception:  # a row that never held a signed document keeps empty items
                meta, face = {}, {}
            values.append({"row_id": row_id, "meta": meta, "face": face})
        connection.execute(
            ecert.update()
            .where(ecert.c.id == sa.bindparam("row_id"))
            .values(metadata_items=sa.bindparam("meta"), face=sa.bindparam("face")),
            values,
        )
        last = rows[-1][0]
    with op.batch_alter_table("ecert", schema=None) as batch_op:
        batch_op.alter_column("metadata_items", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("face", existing_type=sa.JSON(), nullable=False)
