"""search: a full-text index of every message (FTS5 on SQLite, tsvector + GIN on PostgreSQL)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:40:00
"""

import json
import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage import search_index

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    connection = op.get_bind()
    search_index.create(connection)
    total = connection.execute(sa.text("SELECT count(*) FROM messages")).scalar_one()
    done, last = 0, 0
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, subject, from_name, from_addr, to_addrs, cc_addrs, body_text "
                "FROM messages WHERE id > :last ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            break
        files = _files(connection, rows[0].id, rows[-1].id)
        docs = [
            search_index.document(
                row.id,
                subject=row.subject or "",
                sender=[row.from_name or "", row.from_addr or ""],
                recipients=[*_addresses(row.to_addrs), *_addresses(row.cc_addrs)],
                body=row.body_text or "",
                files=files.get(row.id, []),
            )
            for row in rows
        ]
        search_index.index(connection, docs)
        done, last = done + len(rows), rows[-1].id
        print(f"Indexing messages for search: {done:,} of {total:,}", file=sys.stderr)


def downgrade() -> None:
    search_index.drop(op.get_bind())


def _files(connection: sa.Connection, first: int, last: int) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = connection.execute(
        sa.text(
            "SELECT message_row_id, filename FROM attachments "
            "WHERE message_row_id BETWEEN :first AND :last ORDER BY id"
        ),
        {"first": first, "last": last},
    )
    for message_id, filename in rows:
        found.setdefault(message_id, []).append(filename or "")
    return found


def _addresses(value: object) -> list[str]:
    """A JSON list of addresses: text on SQLite, a list already on PostgreSQL."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(a) for a in value] if isinstance(value, list) else []
