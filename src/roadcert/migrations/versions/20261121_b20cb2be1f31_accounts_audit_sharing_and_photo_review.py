"""accounts, audit events, sharing and photo review

The portal's tables: users with their web sessions and API tokens, the append-only audit log,
holders' grants of access and the 亮证 codes already used, and uploaded photos waiting for staff
review. Only new tables: nothing existing changes.

Revision ID: b20cb2be1f31
Revises: faae244e396b
Create Date: 2026-11-21 15:04:48.243336
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roadcert.db

revision: str = "b20cb2be1f31"
down_revision: str | None = "faae244e396b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photo_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=15), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("review", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", roadcert.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authority.id"],
            name=op.f("fk_photo_submission_authority_id_authority"),
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photo.id"], name=op.f("fk_photo_submission_photo_id_photo")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_submission")),
    )
    with op.batch_alter_table("photo_submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photo_submission_authority_id"), ["authority_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_photo_submission_review"), ["review"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=True),
        sa.Column("holder_code", sa.String(length=30), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", roadcert.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", roadcert.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authority.id"], name=op.f("fk_user_account_authority_id_authority")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_account_holder_code"), ["holder_code"], unique=False
        )

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sm3", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", roadcert.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", roadcert.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_api_token_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_sm3", name=op.f("uq_api_token_token_sm3")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_audit_event_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_event_subject_at", ["subject", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_tag"), ["tag"], unique=False)

    op.create_table(
        "share_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sm3", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("holder_code", sa.String(length=30), nullable=False),
        sa.Column("grantee", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", roadcert.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_share_grant_created_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_grant")),
        sa.UniqueConstraint("token_sm3", name=op.f("uq_share_grant_token_sm3")),
    )
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_grant_holder_code"), ["holder_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_grant_serial"), ["serial"], unique=False)

    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sm3", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_web_session_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_sm3", name=op.f("uq_web_session_token_sm3")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "show_code_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("ecert_id", sa.Integer(), nullable=False),
        sa.Column("used_at", roadcert.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["ecert_id"], ["ecert.id"], name=op.f("fk_show_code_use_ecert_id_ecert")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_show_code_use")),
        sa.UniqueConstraint("nonce", name=op.f("uq_show_code_use_nonce")),
    )


def downgrade() -> None:
    op.drop_table("show_code_use")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))

    op.drop_table("web_session")
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_grant_serial"))
        batch_op.drop_index(batch_op.f("ix_share_grant_holder_code"))

    op.drop_table("share_grant")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_tag"))
        batch_op.drop_index("ix_audit_event_subject_at")
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_holder_code"))

    op.drop_table("user_account")
    with op.batch_alter_table("photo_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_submission_review"))
        batch_op.drop_index(batch_op.f("ix_photo_submission_authority_id"))

    op.drop_table("photo_submission")
