"""board counts kept by status changes (issue 16)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 03:30:00
"""

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage import search_index
from storage.repository import board_counts

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SPEC B8.6: exact per-status counts, kept by triggers in the status change's transaction,
    # filled from the tickets already there.
    op.create_table(
        "board_counts",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("status_id", sa.Integer(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pipeline_id", "status_id"),
    )
    op.create_index("ix_board_counts_status_id", "board_counts", ["status_id"])
    connection = op.get_bind()
    board_counts.recount(connection)
    board_counts.create_triggers(connection)
    # Issue 16: SQLite's search index gains prefix indexes (2 and 3 characters); a contentless
    # index changes its options only by being built again from the messages.
    if connection.dialect.name == "sqlite" and not search_index.has_prefix_index(connection):
        search_index.rebuild(connection, _progress)


def _progress(done: int, total: int) -> None:
    print(f"Indexing messages for search: {done:,} of {total:,}", file=sys.stderr)


def downgrade() -> None:
    board_counts.drop_triggers(op.get_bind())
    op.drop_index("ix_board_counts_status_id", table_name="board_counts")
    op.drop_table("board_counts")
