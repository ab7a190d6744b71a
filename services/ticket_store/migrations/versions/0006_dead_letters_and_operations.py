"""dead letters, gateway health and the mail-log indexes (issue 11)

`dead_letters`: every `mail.dead` record (one row per mail and stage) with what
reprocessing needs; `mail_sources`: where each raw mail is in `mail.raw`, with
its sender and subject for the mail log; `gateway_health`: the fetchers' latest
reports. Indexes on `mail_outcomes` serve the mail log's newest-first pages,
filtered by gateway, decision or rule.

"""

import sqlalchemy as sa
from alembic import op

from services.ticket_store.migrations.columns import booleans, integers, stamps, strings, texts

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        *strings(email_id=200, stage=100, gateway_id=64),
        *texts("reason"),
        *strings(status=16),
        *integers("occurrences"),
        *stamps("first_at", "last_at"),
        *strings(source_topic=255, source_key=998),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        *integers("reprocess_count"),
        *stamps("reprocessed_at", nullable=True),
        *strings(reprocessed_by=200),
        *stamps("resolved_at", nullable=True),
        *strings(result=64),
        sa.UniqueConstraint("email_id", "stage", name="uq_dead_letters_email_stage"),
    )
    op.create_index("ix_dead_letters_status_last", "dead_letters", ["status", "last_at"])
    op.create_index("ix_dead_letters_last", "dead_letters", ["last_at"])
    op.create_table(
        "mail_sources",
        sa.Column("email_id", sa.String(64), primary_key=True),
        *strings(gateway_id=64, from_address=320),
        *texts("subject"),
        *integers("size"),
        *strings(nullable=True, blob_ref=80),
        *strings(topic=255),
        *integers("partition", "offset"),
        *stamps("fetched_at"),
    )
    op.create_index("ix_mail_sources_gateway_fetched", "mail_sources", ["gateway_id", "fetched_at"])
    op.create_index("ix_mail_sources_from", "mail_sources", ["from_address"])
    op.create_table(
        "gateway_health",
        sa.Column("gateway_id", sa.String(64), primary_key=True),
        *strings(owner=200, status=16),
        *booleans("idle"),
        *stamps("last_success", nullable=True),
        *texts("last_error"),
        *stamps("last_error_at", nullable=True),
        *integers("consecutive_failures", "mails_taken"),
        *stamps("reported_at"),
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
