"""dead letters, gateway health and the mail-log indexes (issue 11)

`dead_letters`: every `mail.dead` record (one row per mail and stage) with what
reprocessing needs; `mail_sources`: where each raw mail is in `mail.raw`, with
its sender and subject for the mail log; `gateway_health`: the fetchers' latest
reports. Indexes on `mail_outcomes` serve the mail log's newest-first pages,
filtered by gateway, decision or rule.

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email_id", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_topic", sa.String(255), nullable=False),
        sa.Column("source_key", sa.String(998), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("reprocess_count", sa.Integer(), nullable=False),
        sa.Column("reprocessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reprocessed_by", sa.String(200), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(64), nullable=False),
        sa.UniqueConstraint("email_id", "stage", name="uq_dead_letters_email_stage"),
    )
    op.create_index("ix_dead_letters_status_last", "dead_letters", ["status", "last_at"])
    op.create_index("ix_dead_letters_last", "dead_letters", ["last_at"])
    op.create_table(
        "mail_sources",
        sa.Column("email_id", sa.String(64), primary_key=True),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("blob_ref", sa.String(80), nullable=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mail_sources_gateway_fetched", "mail_sources", ["gateway_id", "fetched_at"])
    op.create_index("ix_mail_sources_from", "mail_sources", ["from_address"])
    op.create_table(
        "gateway_health",
        sa.Column("gateway_id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idle", sa.Boolean(), nullable=False),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("mails_taken", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mail_outcomes_decided", "mail_outcomes", ["decided_at", "email_id"])
    op.create_index(
        "ix_mail_outcomes_gateway_decided", "mail_outcomes", ["gateway_id", "decided_at"]
    )
    op.create_index(
        "ix_mail_outcomes_decision_decided", "mail_outcomes", ["decision", "decided_at"]
    )
    op.create_index("ix_mail_outcomes_rule_decided", "mail_outcomes", ["rule", "decided_at"])


def downgrade() -> None:
    for name in (
        "ix_mail_outcomes_rule_decided",
        "ix_mail_outcomes_decision_decided",
        "ix_mail_outcomes_gateway_decided",
        "ix_mail_outcomes_decided",
    ):
        op.drop_index(name, table_name="mail_outcomes")
    op.drop_table("gateway_health")
    op.drop_table("mail_sources")
    op.drop_table("dead_letters")
