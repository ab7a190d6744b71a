"""To and Cc kept on messages (issue 13)

A client's mail keeps its To and Cc, and the sender's display name (a Cc'd
person writing in is shown as themselves); a staff reply-all keeps the Cc it
went to. JSON lists on ``messages``, and on ``incoming_emails`` until staff
convert or attach one; empty for every existing row.

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("to_addresses", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("cc_addresses", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("from_name", sa.String(length=320), server_default="", nullable=False)
        )

    with op.batch_alter_table("incoming_emails", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("to_addresses", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("cc_addresses", sa.JSON(), server_default="[]", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("incoming_emails", schema=None) as batch_op:
        batch_op.drop_column("cc_addresses")
        batch_op.drop_column("to_addresses")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("from_name")
        batch_op.drop_column("cc_addresses")
        batch_op.drop_column("to_addresses")
