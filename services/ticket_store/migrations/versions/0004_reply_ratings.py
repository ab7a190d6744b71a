"""reply ratings (quality control)

Clients rate staff replies; administrators see the ratings, other staff do not.
The ratings get a table of their own, ``reply_ratings``, rather than columns on
``messages``: every staff view reads ``messages``, so a separate table keeps the
ratings out of them unless a query asks for them on purpose (only the admin
report and the client's own ticket view do), and a reply can carry ratings of
more than one client of the ticket without widening the thread's rows. One
rating per reply and client (unique), rating again replaces it.

"""

import sqlalchemy as sa
from alembic import op

from services.ticket_store.migrations.columns import integers, stamps, texts

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "reply_ratings",
        *integers("id", "message_id", "client_id", "score"),
        *texts("comment"),
        *stamps("rated_at"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "client_id", name="uq_reply_ratings_message_client"),
    )
    with op.batch_alter_table("reply_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_ratings_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reply_ratings_rated_at"), ["rated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reply_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_ratings_rated_at"))
        batch_op.drop_index(batch_op.f("ix_reply_ratings_client_id"))

    op.drop_table("reply_ratings")
