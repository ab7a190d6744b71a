"""OAuth2 on a gateway: its provider settings, a connect in progress, a finished connect.

The flows themselves (authorization code with PKCE from the web, device code from
the CLI) run in the adapters with authlib; what they produce comes here. A finished
connect switches the gateway to OAuth2 login and publishes its token record on
``gateway.tokens`` (through the outbox, after commit), which every fetcher and the
mailer read. Secrets arrive encrypted; none is audited.

May import: `unit_of_work`, `domain`, the store's models, `actions.gateways`, the kernel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.crypto import decrypt
from kernel.oauth2 import flows
from kernel.oauth2.providers import PROVIDERS, provider
from kernel.oauth2.records import TokenRecord
from services.ticket_store.actions.gateways import publish_gateway
from services.ticket_store.models import Gateway
from services.ticket_store.models_oauth2 import GatewayOAuth2
from services.ticket_store.unit_of_work import UnitOfWork

PENDING_FOR = timedelta(minutes=15)  # an authorization left open longer is refused


def settings_of(session: Session, gateway_id: str) -> GatewayOAuth2 | None:
    return session.get(GatewayOAuth2, gateway_id)


def save_settings(
    uow: UnitOfWork,
    gw: Gateway,
    *,
    provider_name: str,
    tenant: str = "",
    client_id: str,
    client_secret_encrypted: str | None = None,
    scope: str = "",
    authorization_url: str = "",
    token_url: str = "",
    device_url: str = "",
) -> GatewayOAuth2:
    """The provider's settings, presets filled in; a None secret keeps the stored one."""
    if gw.protocol not in ("imap", "pop3"):
        raise ValueError("OAuth2 is for IMAP and POP3 gateways.")
    if provider_name not in PROVIDERS:
        raise ValueError(f"Unknown provider {provider_name!r}.")
    if not client_id.strip():
        raise ValueError("The client (application) id is required.")
    p = provider(
        provider_name,
        tenant=tenant.strip(),
        authorization_url=authorization_url.strip(),
        token_url=token_url.strip(),
        device_url=device_url.strip(),
        scopes=scope,
    )
    if not p.token_url or not p.scopes:
        raise ValueError("This provider needs its token URL and scopes.")
    row = settings_of(uow.session, gw.id) or GatewayOAuth2(gateway_id=gw.id)
    row.provider, row.tenant, row.client_id = provider_name, tenant.strip(), client_id.strip()
    row.scope = " ".join(p.scopes)
    row.authorization_url, row.token_url, row.device_url = (
        p.authorization_url,
        p.token_url,
        p.device_url,
    )
    if client_secret_encrypted is not None:
        row.client_secret_encrypted = client_secret_encrypted
    row.client_secret_encrypted = row.client_secret_encrypted or ""
    if row.status is None:
        row.status = "not-connected"
    uow.session.add(row)
    uow.audit("gateway.oauth2_settings", "gateway", gw.id, provider=provider_name)
    uow.flush()
    return row


def flow_client(settings: Settings, gw: Gateway, row: GatewayOAuth2) -> flows.Client:
    """What a connect flow (the web's or the CLI's) needs of the stored settings."""
    return flows.Client(
        gateway_id=gw.id,
        username=gw.username,
        provider=row.provider,
        client_id=row.client_id,
        client_secret=decrypt(settings, row.client_secret_encrypted),
        scope=row.scope,
        token_url=row.token_url,
        authorization_url=row.authorization_url,
        device_url=row.device_url,
    )


def start_connect(
    uow: UnitOfWork, row: GatewayOAuth2, *, state: str, verifier_encrypted: str, redirect_uri: str
) -> None:
    """Remember the authorization request (its state and PKCE verifier) until the callback."""
    if not row.authorization_url:
        raise ValueError("This provider has no authorization URL; use the CLI's device flow.")
    row.pending_state = state
    row.pending_verifier_encrypted = verifier_encrypted
    row.pending_redirect_uri = redirect_uri
    row.pending_at = datetime.now(UTC)


def pending(session: Session, state: str) -> GatewayOAuth2 | None:
    """The connect a callback's state belongs to, if it is still open."""
    if not state:
        return None
    row = session.scalars(select(GatewayOAuth2).where(GatewayOAuth2.pending_state == state)).first()
    if row is None or row.pending_at is None:
        return None
    at = row.pending_at if row.pending_at.tzinfo else row.pending_at.replace(tzinfo=UTC)
    return row if datetime.now(UTC) - at <= PENDING_FOR else None


def finish_connect(uow: UnitOfWork, row: GatewayOAuth2, record: TokenRecord) -> None:
    """The tokens a flow got: the gateway logs in with OAuth2 from now on."""
    gw = uow.session.get(Gateway, row.gateway_id)
    if gw is None:
        raise ValueError("The gateway was deleted meanwhile.")
    row.status, row.reason, row.token_version = "connected", "", record.version
    row.refresh_token_encrypted = record.refresh_token_encrypted
    row.connected_at = datetime.now(UTC)
    row.connected_by = uow.actor or ""
    row.pending_state, row.pending_verifier_encrypted, row.pending_at = None, "", None
    uow.emit(uow.topics.gateway_tokens, gw.id, record)
    if gw.auth != "oauth2":
        gw.auth = "oauth2"
        publish_gateway(uow, gw)
    uow.audit("gateway.oauth2_connected", "gateway", gw.id, provider=row.provider)


def record_tokens(uow: UnitOfWork, record: TokenRecord) -> bool:
    """A record from ``gateway.tokens`` (a rotation, a refused refresh) onto the gateway;
    older or repeated records change nothing. False when the gateway has no OAuth2 row."""
    row = settings_of(uow.session, record.gateway_id)
    if row is None or record.version <= (row.token_version or 0):
        return False
    row.token_version = record.version
    if record.refresh_token_encrypted:
        row.refresh_token_encrypted = record.refresh_token_encrypted
    if record.status == "failed":
        row.status, row.reason = "failed", record.reason[:1000]
        uow.audit("gateway.oauth2_failed", "gateway", row.gateway_id, reason=row.reason)
    else:
        row.status, row.reason = "connected", ""
    return True
