"""The database triggers that keep history append-only (PostgreSQL only; see the package's notes)."""

from __future__ import annotations

from django.db import connections

from mes.seal.tables import sealed_models

HISTORY_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION mes_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def protect_history_tables(using: str = "default") -> list[str]:
    """On PostgreSQL, have every sealed table (the history tables and the append-only tables that
    are their own history) refuse UPDATE and DELETE; returns the tables.

    Run after every migrate (`MesConfig`), so a sealed table that a later migration adds is
    covered as well, with no trigger of its own to write; a table not yet migrated is left until
    it exists. TRUNCATE, how tests reset tables, fires no row trigger."""
    db = connections[using]
    if db.vendor != "postgresql":
        return []
    existing = set(db.introspection.table_names())
    tables = [table for table in sealed_models() if table in existing]
    with db.cursor() as cursor:
        cursor.execute(HISTORY_APPEND_ONLY_FUNCTION)
        for table in tables:
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER mes_history_append_only BEFORE UPDATE OR DELETE ON {db.ops.quote_name(table)} "
                "FOR EACH ROW EXECUTE FUNCTION mes_refuse_history_change()"
            )
    return tables
