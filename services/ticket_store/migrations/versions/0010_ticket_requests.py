"""Ticket requests: web/API tickets in paid departments wait for the router's ledger (issue 12)

``ticket_requests``: a client's new ticket until the incident ledger answers
(services/ticket_store/models_ticket_requests.py).

"""

import sqlalchemy as sa
from alembic import op

from services.ticket_store.migrations.columns import integers, stamps, strings, texts

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "ticket_requests",
        *strings(id=32),
        *integers("client_id", "department_id"),
        *strings(ticket_id=16),
        *texts("subject", "text"),
        *strings(state=16),
        *texts("reason", "notice"),
        *stamps("created_at"),
        *stamps("decided_at", nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index("ix_ticket_requests_client_state", "ticket_requests", ["client_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_ticket_requests_client_state", table_name="ticket_requests")
    op.drop_table("ticket_requests")
