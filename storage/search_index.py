"""The search index, written in the transaction that writes the message (SPEC D19).

One index row per message (inbound, outbound and notes) with four fields: subject, sender
(name and address), recipients (To and Cc) and body (the text, quoted text included, then the
attachment names). The words come from `automation.search.tokens`, so both databases hold the
same words:

- SQLite: an FTS5 table `message_search` (contentless; rowid = the message id), one column per
  field, the words joined by spaces;
- PostgreSQL: a table `message_search(message_id, document tsvector)` with a GIN index; the
  tsvector is written as a literal with our own positions and a weight per field (A subject,
  B sender, C recipients, D body), so PostgreSQL's parser never re-reads the words.

A gap of one position between fields keeps a phrase from matching across two of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from automation.search.tokens import MAX_WORDS, words

TABLE = "message_search"
FIELDS = ("subject", "sender", "recipients", "body")
WEIGHTS = {"subject": "A", "sender": "B", "recipients": "C", "body": "D"}
_CAPS = {"subject": 200, "sender": 50, "recipients": 300}  # the body gets what is left


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
            "tokenize='unicode61 remove_diacritics 0')"
        )
    )


def drop(connection: Connection) -> None:
    connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
