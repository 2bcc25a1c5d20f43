"""branch actions: an action may sit in a branch's yes/no path; delays remember their action

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('workflow_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('branch', sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f('ix_workflow_actions_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_workflow_actions_parent_id_workflow_actions'), 'workflow_actions', ['parent_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('scheduled_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('after_action_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scheduled_steps', schema=None) as batch_op:
        batch_op.drop_column('after_action_id')
    with op.batch_alter_table('workflow_actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_workflow_actions_parent_id_workflow_actions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_workflow_actions_parent_id'))
        batch_op.drop_column('branch')
        batch_op.drop_column('parent_id')
