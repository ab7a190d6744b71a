"""a per-ticket event sequence for tickets.events (issue 11)

`tickets.event_sequence` holds the sequence of the ticket's last event; the unit
of work increments it in the same transaction as the event's outbox row, so the
numbers a ticket's events carry go 1, 2, 3 … without gaps, in commit order.
Tickets from before start at 0: their earlier events carry no sequence (0).

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("event_sequence", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("event_sequence")
