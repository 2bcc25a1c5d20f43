"""scheduled workflow steps (delays)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scheduled_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('next_position', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('cause_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cause_id'], ['timeline_events.id'], name=op.f('fk_scheduled_steps_cause_id_timeline_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_scheduled_steps_enrollment_id_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_scheduled_steps_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_scheduled_steps_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_steps'))
    )
    with op.batch_alter_table('scheduled_steps', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_steps_due', ['done_at', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scheduled_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_steps_due')
    op.drop_table('scheduled_steps')
