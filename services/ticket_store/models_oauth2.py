"""A gateway's OAuth2 settings and the credentials of its last connect (issue 13).

Secrets (client secret, refresh token, the PKCE verifier of a pending connect) are
Fernet-encrypted like gateway passwords and never put into a page or the API. The
live tokens are on the compacted ``gateway.tokens`` topic, where every fetcher and
the mailer refresh them (kernel.oauth2.records); the row keeps what the connect
gave, and the settings a reconnect starts from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.ticket_store.models import Base
from services.ticket_store.timestamps import UtcDateTime, utcnow


class GatewayOAuth2(Base):
    __tablename__ = "gateway_oauth2"

    gateway_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gateways.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(32), default="generic")
    tenant: Mapped[str] = mapped_column(String(200), default="")
    client_id: Mapped[str] = mapped_column(String(500), default="")
    client_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    authorization_url: Mapped[str] = mapped_column(Text, default="")
    token_url: Mapped[str] = mapped_column(Text, default="")
    device_url: Mapped[str] = mapped_column(Text, default="")
    # "not-connected" until a connect succeeds; then "connected", or "failed" (with the
    # reason) once a refresh was refused: what gateway.tokens says, kept here too.
    status: Mapped[str] = mapped_column(String(16), default="not-connected")
    reason: Mapped[str] = mapped_column(Text, default="")
    # The latest token record applied (its version), and its refresh token: the store
    # persists every rotation from gateway.tokens onto the gateway.
    token_version: Mapped[int] = mapped_column(BigInteger, default=0)
    refresh_token_encrypted: Mapped[str] = mapped_column(Text, default="")
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    connected_by: Mapped[str] = mapped_column(String(200), default="")
    # A connect in progress (authorization code + PKCE): the state sent, the verifier kept.
    pending_state: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    pending_verifier_encrypted: Mapped[str] = mapped_column(Text, default="")
    pending_redirect_uri: Mapped[str] = mapped_column(Text, default="")
    pending_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


__all__ = ["GatewayOAuth2"]
