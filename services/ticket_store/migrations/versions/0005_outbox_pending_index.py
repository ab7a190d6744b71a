"""outbox: a partial index on the rows not yet published

The relay asks for the oldest unpublished rows (``published_at IS NULL ORDER BY
id LIMIT n``) several times a second. The index on ``published_at`` held every
row ever written and was updated by every publish; the partial index holds only
the pending rows, in id order, so the relay's query reads exactly the rows it
returns and stays as cheap after a million events as after ten.

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

PENDING = sa.text("published_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"], postgresql_where=PENDING, sqlite_where=PENDING
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"], unique=False)
