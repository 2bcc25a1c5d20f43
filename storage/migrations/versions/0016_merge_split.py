"""merge and split (issue 15): tickets.merged_into_id (SPEC B3.1)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_tickets_merged_into_id_tickets",
            "tickets",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_tickets_merged_into_id", ["merged_into_id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_merged_into_id")
        batch.drop_constraint("fk_tickets_merged_into_id_tickets", type_="foreignkey")
        batch.drop_column("merged_into_id")
