"""OAuth2 credentials on gateways (issue 13)

``gateways.auth`` ("password" or "oauth2", how fetchers log in) and the
``gateway_oauth2`` table: a gateway's provider settings and its last connect,
secrets Fernet-encrypted (services/ticket_store/models_oauth2.py).

"""

import sqlalchemy as sa
from alembic import op

from services.ticket_store.migrations.columns import stamps, strings, texts

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth", sa.String(length=16), server_default="password", nullable=False)
        )
    op.create_table(
        "gateway_oauth2",
        *strings(gateway_id=64, provider=32, tenant=200, client_id=500),
        *texts("client_secret_encrypted", "scope", "authorization_url", "token_url", "device_url"),
        *strings(status=16),
        *texts("reason"),
        sa.Column("token_version", sa.BigInteger(), nullable=False),
        *texts("refresh_token_encrypted"),
        *stamps("connected_at", nullable=True),
        *strings(connected_by=200),
        *strings(nullable=True, pending_state=100),
        *texts("pending_verifier_encrypted", "pending_redirect_uri"),
        *stamps("pending_at", nullable=True),
        *stamps("updated_at"),
        sa.ForeignKeyConstraint(["gateway_id"], ["gateways.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gateway_id"),
        sa.UniqueConstraint("pending_state"),
    )


def downgrade() -> None:
    op.drop_table("gateway_oauth2")
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_column("auth")
