"""outgoing mail: attachments, Cc/Bcc and forwards (issue 12)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bcc_addrs", sa.JSON(), server_default="[]", nullable=False))
    op.create_table(
        "draft_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_draft_attachments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_attachments")),
    )
    with op.batch_alter_table("draft_attachments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_draft_attachments_scope", ["user_id", "scope", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("draft_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_draft_attachments_scope")
    op.drop_table("draft_attachments")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("bcc_addrs")
