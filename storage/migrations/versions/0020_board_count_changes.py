"""board counts without a hot row on PostgreSQL (issue 16)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.repository import board_counts

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SPEC B8.6 under many writers: PostgreSQL's triggers append signed changes that a writer
    # holding an advisory lock folds into board_counts (storage/repository/board_counts.py).
    op.create_table(
        "board_count_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("status_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_board_count_changes_status_id", "board_count_changes", ["status_id"])
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        board_counts.drop_triggers(connection)
        board_counts.create_triggers(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        # fold what is left, then go back to 0018's triggers' table alone
        connection.execute(sa.text("SELECT board_counts_fold()"))
    op.drop_index("ix_board_count_changes_status_id", table_name="board_count_changes")
    op.drop_table("board_count_changes")
