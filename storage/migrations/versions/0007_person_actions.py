"""undo: a person's actions are recorded; enrollments can be undone; outbox state 'cancelled'

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('person_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_seconds', sa.Integer(), nullable=False),
    sa.Column('undo_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undo_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_person_actions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['timeline_events.id'], name=op.f('fk_person_actions_event_id_timeline_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_person_actions_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['undo_event_id'], ['timeline_events.id'], name=op.f('fk_person_actions_undo_event_id_timeline_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_person_actions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_actions'))
    )
    with op.batch_alter_table('person_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_actions_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_person_actions_user', ['user_id', 'id'], unique=False)
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(length=8), type_=sa.String(length=16), existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE outbox SET state = 'dropped' WHERE state = 'cancelled'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(length=16), type_=sa.String(length=8), existing_nullable=False)
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('undone_at')
    with op.batch_alter_table('person_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_person_actions_user')
        batch_op.drop_index(batch_op.f('ix_person_actions_event_id'))
    op.drop_table('person_actions')
