"""logins, per-user keymaps and the settings audit (issue 14)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SPEC S7: one OS login per user, by default its name.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_login"), ["login"])
    op.execute("UPDATE users SET login = name")
    op.create_table(
        "settings_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("apply_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("old", sa.JSON(), nullable=False),
        sa.Column("new", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_settings_audit_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_audit")),
    )
    with op.batch_alter_table("settings_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settings_audit_actor_id"), ["actor_id"])
        batch_op.create_index(batch_op.f("ix_settings_audit_apply_id"), ["apply_id"])
        batch_op.create_index(batch_op.f("ix_settings_audit_at"), ["at"])
    op.create_table(
        "user_keymaps",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_keymaps_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_keymaps")),
    )
    op.create_table(
        "staged_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staged_attachments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_attachments")),
    )
    with op.batch_alter_table("staged_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staged_attachments_user_id"), ["user_id"])


def downgrade() -> None:
    op.drop_table("staged_attachments")
    op.drop_table("user_keymaps")
    op.drop_table("settings_audit")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_login"), type_="unique")
        batch_op.drop_column("login")
