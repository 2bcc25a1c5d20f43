"""The search index, written in the transaction that writes the message (SPEC D19).

One index row per message (inbound, outbound and notes) with four fields: subject, sender
(name and address), recipients (To and Cc) and body (the text, quoted text included, then the
attachment names). The words come from `automation.search.tokens`, so both databases hold the
same words:

- SQLite: an FTS5 table `message_search` (contentless; rowid = the message id), one column per
  field, the words joined by spaces, with prefix indexes for two and three characters (a short
  prefix such as `inv*` reads one index entry instead of merging every word it starts);
- PostgreSQL: a table `message_search(message_id, document tsvector)` with a GIN index; the
  tsvector is written as a literal with our own positions and a weight per field (A subject,
  B sender, C recipients, D body), so PostgreSQL's parser never re-reads the words.

A gap of one position between fields keeps a phrase from matching across two of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from automation.search.tokens import MAX_WORDS, words

TABLE = "message_search"
FIELDS = ("subject", "sender", "recipients", "body")
WEIGHTS = {"subject": "A", "sender": "B", "recipients": "C", "body": "D"}
_CAPS = {"subject": 200, "sender": 50, "recipients": 300}  # the body gets what is left
SQLITE_PREFIX = "prefix='2 3'"  # issue 16: prefix queries read a prefix index (FTS5)
REBUILD_BATCH = 2000


def is_search_table(name: str | None) -> bool:
    """The index's tables (FTS5 makes shadow tables), which the models do not declare."""
    return bool(name) and str(name).startswith(TABLE)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    """Alembic's filter: the index is made by hand (FTS5, tsvector); no model declares it."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return not is_search_table(table)


@dataclass(frozen=True)
class Document:
    message_id: int
    fields: dict[str, list[str]]

    def sqlite_values(self) -> dict[str, object]:
        values: dict[str, object] = {name: " ".join(self.fields[name]) for name in FIELDS}
        values["rowid"] = self.message_id
        return values

    def tsvector(self) -> str:
        positions: dict[str, list[str]] = {}
        at = 0
        for name in FIELDS:
            for word in self.fields[name]:
                at += 1
                positions.setdefault(word, []).append(f"{at}{WEIGHTS[name]}")
            at += 1
        return " ".join(f"'{word}':{','.join(spots)}" for word, spots in positions.items())


def document(
    message_id: int,
    *,
    subject: str,
    sender: Sequence[str],
    recipients: Sequence[str],
    body: str,
    files: Sequence[str] = (),
) -> Document:
    fields = {
        "subject": words(subject, _CAPS["subject"]),
        "sender": words(" ".join(sender), _CAPS["sender"]),
        "recipients": words(" ".join(recipients), _CAPS["recipients"]),
    }
    room = MAX_WORDS - sum(len(found) for found in fields.values())
    fields["body"] = words("\n".join([body, *files]), max(room, 0))
    return Document(message_id, fields)


def index(connection: Connection, docs: Sequence[Document]) -> None:
    """Add documents to the index, in the caller's transaction."""
    if not docs:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                f"INSERT INTO {TABLE} (message_id, document) "
                "VALUES (:message_id, CAST(:document AS tsvector))"
            ),
            [{"message_id": d.message_id, "document": d.tsvector()} for d in docs],
        )
        return
    columns = ", ".join(FIELDS)
    params = ", ".join(f":{name}" for name in FIELDS)
    connection.execute(
        text(f"INSERT INTO {TABLE} (rowid, {columns}) VALUES (:rowid, {params})"),
        [d.sqlite_values() for d in docs],
    )


def create(connection: Connection) -> None:
    """Create the index's tables (the migration; tests' fresh schemas come through it too)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                f"CREATE TABLE {TABLE} (message_id INTEGER PRIMARY KEY "
                "REFERENCES messages(id) ON DELETE CASCADE, document TSVECTOR NOT NULL)"
            )
        )
        connection.execute(
            text(f"CREATE INDEX ix_{TABLE}_document ON {TABLE} USING GIN (document)")
        )
        return
    connection.execute(
        text(
            f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(FIELDS)}, content='', "
            f"{SQLITE_PREFIX}, tokenize='unicode61 remove_diacritics 0')"
        )
    )


def has_prefix_index(connection: Connection) -> bool:
    """Is the SQLite index built with `SQLITE_PREFIX` (a desk made before it is not)?"""
    sql = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE name = :name"), {"name": TABLE}
    ).scalar()
    return SQLITE_PREFIX in str(sql or "")


def rebuild(connection: Connection, progress: Callable[[int, int], None] | None = None) -> None:
    """Make the index again from the messages, in the caller's transaction (the index is
    contentless, so its options change only this way)."""
    drop(connection)
    create(connection)
    total = connection.execute(text("SELECT count(*) FROM messages")).scalar_one()
    done, last = 0, 0
    while True:
        rows = connection.execute(
            text(
                "SELECT id, subject, from_name, from_addr, to_addrs, cc_addrs, body_text "
                "FROM messages WHERE id > :last ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": REBUILD_BATCH},
        ).all()
        if not rows:
            return
        files: dict[int, list[str]] = {}
        for message_id, filename in connection.execute(
            text(
                "SELECT message_row_id, filename FROM attachments "
                "WHERE message_row_id BETWEEN :first AND :last ORDER BY id"
            ),
            {"first": rows[0].id, "last": rows[-1].id},
        ):
            files.setdefault(message_id, []).append(filename or "")
        index(
            connection,
            [
                document(
                    row.id,
                    subject=row.subject or "",
                    sender=[row.from_name or "", row.from_addr or ""],
                    recipients=[*_addresses(row.to_addrs), *_addresses(row.cc_addrs)],
                    body=row.body_text or "",
                    files=files.get(row.id, []),
                )
                for row in rows
            ],
        )
        done, last = done + len(rows), rows[-1].id
        if progress is not None:
            progress(done, total)


def _addresses(value: object) -> list[str]:
    """A JSON list of addresses: text on SQLite, a list already on PostgreSQL."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(a) for a in value] if isinstance(value, list) else []


def drop(connection: Connection) -> None:
    connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
