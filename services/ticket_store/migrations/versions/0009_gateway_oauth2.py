"""OAuth2 credentials on gateways (issue 13)

``gateways.auth`` ("password" or "oauth2", how fetchers log in) and the
``gateway_oauth2`` table: a gateway's provider settings and its last connect,
secrets Fernet-encrypted (services/ticket_store/models_oauth2.py).

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth", sa.String(length=16), server_default="password", nullable=False)
        )
    op.create_table(
        "gateway_oauth2",
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("authorization_url", sa.Text(), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=False),
        sa.Column("device_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("token_version", sa.BigInteger(), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_by", sa.String(length=200), nullable=False),
        sa.Column("pending_state", sa.String(length=100), nullable=True),
        sa.Column("pending_verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("pending_redirect_uri", sa.Text(), nullable=False),
        sa.Column("pending_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["gateway_id"], ["gateways.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gateway_id"),
        sa.UniqueConstraint("pending_state"),
    )


def downgrade() -> None:
    op.drop_table("gateway_oauth2")
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_column("auth")
