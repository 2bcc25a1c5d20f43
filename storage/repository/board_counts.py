"""Board counts (SPEC B8.6): the number of tickets per pipeline and status, kept exact.

`board_counts` holds one row per (pipeline, status) with its ticket count. Triggers on `tickets`
keep the counts in the transaction of every change that moves a ticket between columns: a ticket
made, deleted (merges and cascades included), or given another status or pipeline, whichever
code path did it (the ORM, the importer's batched inserts, a migration). So the board reads a
few rows instead of counting a million tickets per refresh.

On PostgreSQL many writers run at once, and one row per column is a lock every writer wants: the
workers of a scale-out desk (issue 16) queued on the "New" row and deadlocked when two moves
locked two rows in opposite orders. There the triggers only append signed changes to
`board_count_changes` (an insert locks nothing another writer wants), and whichever writer gets
a transaction-level advisory lock folds the committed changes into `board_counts` (a writer that
does not get it skips the fold: nobody waits). The counts are `board_counts` plus the changes not
folded yet (`storage.views.status_counts`). SQLite has one writer at a time: its triggers update
`board_counts` directly and the changes table stays empty.

The triggers are created by migration 0018 (0020 on PostgreSQL for the changes), which also
fills the table from the tickets; `recount` rebuilds it from COUNT(*) should it ever be doubted.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

TABLE = "board_counts"
CHANGES = "board_count_changes"
# The advisory lock whose holder folds the changes (any constant of our own: "DESK" "BC").
FOLD_LOCK = 0x4445534B4243

_SQLITE = (
    f"""CREATE TRIGGER tickets_board_count_insert AFTER INSERT ON tickets BEGIN
        INSERT INTO {TABLE} (pipeline_id, status_id, tickets)
        VALUES (NEW.pipeline_id, NEW.status_id, 1)
        ON CONFLICT (pipeline_id, status_id) DO UPDATE SET tickets = tickets + 1;
    END""",
    f"""CREATE TRIGGER tickets_board_count_delete AFTER DELETE ON tickets BEGIN
        UPDATE {TABLE} SET tickets = tickets - 1
        WHERE pipeline_id = OLD.pipeline_id AND status_id = OLD.status_id;
    END""",
    f"""CREATE TRIGGER tickets_board_count_update AFTER UPDATE OF pipeline_id, status_id
    ON tickets WHEN OLD.pipeline_id IS NOT NEW.pipeline_id OR OLD.status_id IS NOT NEW.status_id
    BEGIN
        UPDATE {TABLE} SET tickets = tickets - 1
        WHERE pipeline_id = OLD.pipeline_id AND status_id = OLD.status_id;
        INSERT INTO {TABLE} (pipeline_id, status_id, tickets)
        VALUES (NEW.pipeline_id, NEW.status_id, 1)
        ON CONFLICT (pipeline_id, status_id) DO UPDATE SET tickets = tickets + 1;
    END""",
)

# PostgreSQL: inserts and deletes have statement-level triggers with transition tables, so a
# batched insert of 500 tickets appends one change per (pipeline, status) it touched, not 500
# (issue 16 item 2). A move is a row trigger that runs only when its column changes.
_PG_FOLD = f"""
CREATE FUNCTION board_counts_fold() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF pg_try_advisory_xact_lock({FOLD_LOCK}) THEN
        WITH folded AS (DELETE FROM {CHANGES} RETURNING pipeline_id, status_id, delta)
        INSERT INTO {TABLE} (pipeline_id, status_id, tickets)
        SELECT pipeline_id, status_id, sum(delta) FROM folded
        GROUP BY pipeline_id, status_id ORDER BY pipeline_id, status_id
        ON CONFLICT (pipeline_id, status_id)
        DO UPDATE SET tickets = {TABLE}.tickets + EXCLUDED.tickets;
    END IF;
END $$
"""
_PG_FUNCTION = f"""
CREATE FUNCTION tickets_board_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {CHANGES} (pipeline_id, status_id, delta)
        SELECT pipeline_id, status_id, count(*) FROM new_rows GROUP BY pipeline_id, status_id;
    ELSE
        INSERT INTO {CHANGES} (pipeline_id, status_id, delta)
        SELECT pipeline_id, status_id, -count(*) FROM old_rows GROUP BY pipeline_id, status_id;
    END IF;
    PERFORM board_counts_fold();
    RETURN NULL;
END $$
"""
_PG_MOVE = f"""
CREATE FUNCTION tickets_board_count_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {CHANGES} (pipeline_id, status_id, delta)
    VALUES (OLD.pipeline_id, OLD.status_id, -1), (NEW.pipeline_id, NEW.status_id, 1);
    PERFORM board_counts_fold();
    RETURN NULL;
END $$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER tickets_board_count_insert AFTER INSERT ON tickets "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_board_count()",
    "CREATE TRIGGER tickets_board_count_delete AFTER DELETE ON tickets "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_board_count()",
    "CREATE TRIGGER tickets_board_count_update AFTER UPDATE OF pipeline_id, status_id ON tickets "
    "FOR EACH ROW WHEN (OLD.pipeline_id IS DISTINCT FROM NEW.pipeline_id "
    "OR OLD.status_id IS DISTINCT FROM NEW.status_id) "
    "EXECUTE FUNCTION tickets_board_count_move()",
)
_NAMES = ("tickets_board_count_insert", "tickets_board_count_delete", "tickets_board_count_update")


def create_triggers(connection: Connection) -> None:
    """Keep `board_counts` in every transaction that changes a ticket's column (SPEC B8.6)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FOLD))
        connection.execute(text(_PG_FUNCTION))
        connection.execute(text(_PG_MOVE))
        for statement in _PG_TRIGGERS:
            connection.execute(text(statement))
        return
    for statement in _SQLITE:
        connection.execute(text(statement))


def drop_triggers(connection: Connection) -> None:
    for name in _NAMES:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON tickets"))
        else:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP FUNCTION IF EXISTS tickets_board_count()"))
        connection.execute(text("DROP FUNCTION IF EXISTS tickets_board_count_move()"))
        connection.execute(text("DROP FUNCTION IF EXISTS board_counts_fold()"))


def recount(connection: Connection) -> None:
    """Rebuild the counts from the tickets (the migration's backfill; a repair), in the caller's
    transaction. On PostgreSQL the tickets are locked against changes while it counts."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE tickets IN SHARE MODE"))
    if has_changes_table(connection):
        connection.execute(text(f"DELETE FROM {CHANGES}"))
    connection.execute(text(f"DELETE FROM {TABLE}"))
    connection.execute(
        text(
            f"INSERT INTO {TABLE} (pipeline_id, status_id, tickets) "
            "SELECT pipeline_id, status_id, count(*) FROM tickets "
            "GROUP BY pipeline_id, status_id"
        )
    )


def has_changes_table(connection: Connection) -> bool:
    """Whether migration 0020 made the changes table (0018's backfill runs before it)."""
    from sqlalchemy import inspect

    return CHANGES in inspect(connection).get_table_names()
