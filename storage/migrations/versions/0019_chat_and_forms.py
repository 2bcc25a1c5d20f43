"""chat and forms (issue 17)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SPEC C5: the web's rate-limit counts, shared by every `serve --http` of the desk
    op.create_table(
        "web_rate_counts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_web_rate_counts_window_start", "web_rate_counts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_web_rate_counts_window_start", table_name="web_rate_counts")
    op.drop_table("web_rate_counts")
