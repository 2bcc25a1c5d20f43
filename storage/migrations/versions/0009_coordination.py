"""coordination: snooze times on conversations and tickets, the presence table, the kind of a
notification and when a task's owner was told it is due

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('presence',
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('replying_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_presence_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_presence'))
    )
    with op.batch_alter_table('presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presence_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_presence_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversations_snoozed_until'), ['snoozed_until'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='notify', nullable=False))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_snoozed_until'), ['snoozed_until'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_snoozed_until'))
        batch_op.drop_column('snoozed_until')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('notified_at')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_snoozed_until'))
        batch_op.drop_column('snoozed_until')

    with op.batch_alter_table('presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_presence_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_presence_conversation_id'))

    op.drop_table('presence')
