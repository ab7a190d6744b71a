"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 03:19:04.473803

"""

import sqlalchemy as sa
from alembic import op

from services.ticket_store.migrations.columns import booleans, integers, stamps, strings, texts

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        *integers("id"),
        *strings(actor=200, action=100, object_type=50, object_id=100),
        sa.Column("details", sa.JSON(), nullable=False),
        *stamps("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "clients",
        *integers("id"),
        *strings(name=200, password_hash=200),
        *texts("comment"),
        *stamps("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "departments",
        *integers("id"),
        *strings(name=200),
        *booleans("show_in_support_center", "per_incident"),
        *texts("insufficient_notice"),
        *stamps("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "mail_outcomes",
        *strings(email_id=64, gateway_id=64, decision=32, rule=64),
        *texts("reason"),
        *strings(nullable=True, ticket_id=16),
        *integers("client_id", nullable=True),
        *booleans("automatic"),
        *stamps("decided_at"),
        sa.PrimaryKeyConstraint("email_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *strings(topic=255, key=998),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        *stamps("created_at"),
        *stamps("published_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"], unique=False)

    op.create_table(
        "staff",
        *integers("id"),
        *strings(name=200, email=320, password_hash=200),
        *booleans("active", "is_admin"),
        *stamps("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "client_emails",
        *integers("id", "client_id"),
        *strings(email=320),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "gateways",
        *strings(id=64, name=200, type=16, protocol=16, host=255),
        *integers("port"),
        *strings(security=16),
        *booleans("verify_tls"),
        *strings(username=320),
        *texts("password_encrypted"),
        *strings(folder=255),
        *texts("maildir_path"),
        *strings(address=320),
        sa.Column("extra_addresses", sa.JSON(), nullable=False),
        *integers("department_id", "poll_interval_s"),
        *strings(after_fetch=16),
        *booleans("enabled"),
        *stamps("created_at"),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "incident_grants",
        *integers("id"),
        *strings(grant_id=64),
        *integers("client_id", "amount"),
        *texts("reason"),
        *stamps("created_at"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grant_id"),
    )
    op.create_table(
        "predefined_replies",
        *integers("id"),
        *strings(title=200),
        *texts("text"),
        *strings(scope=16),
        *integers("department_id", "staff_id", nullable=True),
        *stamps("created_at"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "staff_departments",
        *integers("staff_id", "department_id"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", "department_id"),
    )
    op.create_table(
        "tickets",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        *strings(id=16),
        *integers("department_id", "client_id"),
        *texts("subject"),
        *strings(status=32),
        *integers("assigned_staff_id", nullable=True),
        *strings(nullable=True, source_email_id=64),
        *booleans("charged"),
        *stamps("created_at", "updated_at"),
        sa.ForeignKeyConstraint(
            ["assigned_staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("source_email_id"),
    )
    op.create_table(
        "incoming_emails",
        *integers("id"),
        *strings(email_id=64, gateway_id=64),
        *integers("department_id"),
        *strings(from_address=320, from_name=320),
        *texts("subject", "text", "html"),
        *strings(email_message_id=998),
        sa.Column("attachments", sa.JSON(), nullable=False),
        *booleans("automatic"),
        *texts("reason"),
        *strings(status=16),
        *integers("ticket_number", nullable=True),
        *stamps("received_at"),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_number"],
            ["tickets.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_id"),
    )
    op.create_table(
        "messages",
        *integers("id", "ticket_number"),
        *strings(direction=8),
        *integers("author_staff_id", "author_client_id", nullable=True),
        *strings(from_address=320),
        *texts("text", "html"),
        *strings(email_message_id=998),
        *strings(nullable=True, source_email_id=64),
        *strings(delivery_status=32),
        *stamps("created_at"),
        sa.ForeignKeyConstraint(
            ["author_client_id"],
            ["clients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_number"], ["tickets.number"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_email_id"),
    )
    op.create_table(
        "message_attachments",
        *integers("id", "message_id"),
        *strings(filename=255, content_type=255),
        *integers("size"),
        *strings(nullable=True, blob_ref=80),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("message_attachments")
    op.drop_table("messages")
    op.drop_table("incoming_emails")
    op.drop_table("tickets")
    op.drop_table("staff_departments")
    op.drop_table("predefined_replies")
    op.drop_table("incident_grants")
    op.drop_table("gateways")
    op.drop_table("client_emails")
    op.drop_table("staff")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))

    op.drop_table("outbox")
    op.drop_table("mail_outcomes")
    op.drop_table("departments")
    op.drop_table("clients")
    op.drop_table("audit_log")
