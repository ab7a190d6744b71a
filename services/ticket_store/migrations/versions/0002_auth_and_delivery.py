"""auth tokens, login attempts, delivery and handling columns"""

import sqlalchemy as sa
from alembic import op

from services.ticket_store.migrations.columns import booleans, integers, stamps, strings

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        *integers("id"),
        *strings(identity=400, ip=64),
        *stamps("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_identity"), ["identity"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_ip"), ["ip"], unique=False)

    op.create_table(
        "auth_tokens",
        *integers("id"),
        *strings(token_hash=64, kind=16, name=200),
        *integers("staff_id", "client_id", nullable=True),
        *strings(csrf_token=64),
        *stamps("created_at"),
        *stamps("expires_at", "last_used_at", nullable=True),
        *booleans("revoked"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_tokens_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_tokens_staff_id"), ["staff_id"], unique=False)

    with op.batch_alter_table("incoming_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled_by_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_incoming_emails_handled_by_staff_id_staff", "staff", ["handled_by_staff_id"], ["id"]
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbound_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("to_address", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("delivery_detail", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_messages_outbound_id", ["outbound_id"])

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_to", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in ("closed_at", "reply_to"):
            batch_op.drop_column(name)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_outbound_id", type_="unique")
        for name in ("delivered_at", "delivery_detail", "to_address", "outbound_id"):
            batch_op.drop_column(name)

    with op.batch_alter_table("incoming_emails", schema=None) as batch_op:
        batch_op.drop_constraint("fk_incoming_emails_handled_by_staff_id_staff", type_="foreignkey")
        for name in ("handled_at", "handled_by_staff_id"):
            batch_op.drop_column(name)

    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_tokens_staff_id"))
        batch_op.drop_index(batch_op.f("ix_auth_tokens_client_id"))

    op.drop_table("auth_tokens")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_ip"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_identity"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_at"))

    op.drop_table("login_attempts")
