"""A gateway's "Connect with OAuth2" (authorization code + PKCE) and "Reconnect" pages.

The administrator picks a provider preset (Microsoft 365, Google, or any provider
by its URLs) and the application's client id and secret, and is sent to the
provider; the provider sends them back to /admin/oauth2/callback, where the code
is exchanged (with the PKCE verifier kept encrypted on the gateway meanwhile) and
the tokens go to ``gateway.tokens`` for the fetchers and the mailer. The client
secret and the tokens never appear on a page: an empty secret field keeps the
stored one. The page also shows the gateway's health, so a token the provider
refused shows here with its reason, next to the "Reconnect" button.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from kernel.crypto import decrypt, encrypt
from kernel.oauth2 import flows
from kernel.oauth2.providers import PROVIDERS
from kernel.oauth2.tokens import OAuth2Failure
from services.ticket_store.actions import gateway_oauth2
from services.ticket_store.http import sessions
from services.ticket_store.models import Gateway, Staff
from services.ticket_store.models_operations import GatewayHealthRecord
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import found
from services.ticket_store.web.common import Pages, Refused, View, need
from services.ticket_store.web.forms import Line, WebForm

pages = Pages("admin")
CALLBACK = "/admin/oauth2/callback"


class OAuth2Form(WebForm):
    provider: str = "microsoft"
    tenant: Line = ""
    client_id: Annotated[Line, Field(max_length=500)] = ""
    client_secret: str = Field(default="", repr=False)
    scope: Line = ""
    authorization_url: Line = ""
    token_url: Line = ""
    device_url: Line = ""


def _redirect_uri(request: Request) -> str:
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + CALLBACK


@pages.page("/admin/gateways/{gateway_id}/oauth2")
def oauth2_page(view: View, gateway_id: str) -> Response:
    """The provider settings (never the secret), the connection and the gateway's health."""
    gw = found(view.session, Gateway, gateway_id, "gateway")
    row = gateway_oauth2.settings_of(view.session, gw.id)
    current = {
        "provider": row.provider if row else "microsoft",
        "tenant": row.tenant if row else "",
        "client_id": row.client_id if row else "",
        "scope": row.scope if row else "",
        "authorization_url": row.authorization_url if row and row.provider == "generic" else "",
        "token_url": row.token_url if row and row.provider == "generic" else "",
        "device_url": row.device_url if row and row.provider == "generic" else "",
    }
    health = view.session.get(GatewayHealthRecord, gw.id)
    failing = health is not None and health.status == "failing"
    return view.render(
        "admin_gateway_oauth2.html",
        gw=gw,
        row=row,
        has_secret=bool(row and row.client_secret_encrypted),
        health=health,
        reconnect=bool(row and row.status in ("connected", "failed")),
        failing=failing,
        providers=PROVIDERS,
        form=view.form or current,
    )


@pages.action("/admin/gateways/{gateway_id}/oauth2", OAuth2Form, oauth2_page)
def connect(
    uow: UnitOfWork, admin: Staff, form: OAuth2Form, gateway_id: str, request: Request
) -> str:
    """Save the settings, remember state and PKCE verifier, and go to the provider."""
    settings = request.app.state.settings
    gw = found(uow.session, Gateway, gateway_id, "gateway")
    row = gateway_oauth2.save_settings(
        uow,
        gw,
        provider_name=form.provider,
        tenant=form.tenant,
        client_id=form.client_id,
        client_secret_encrypted=encrypt(settings, form.client_secret)
        if form.client_secret
        else None,
        scope=form.scope,
        authorization_url=form.authorization_url,
        token_url=form.token_url,
        device_url=form.device_url,
    )
    redirect_uri = _redirect_uri(request)
    url, state, verifier = flows.authorization_request(
        gateway_oauth2.flow_client(settings, gw, row), redirect_uri
    )
    gateway_oauth2.start_connect(
        uow,
        row,
        state=state,
        verifier_encrypted=encrypt(settings, verifier),
        redirect_uri=redirect_uri,
    )
    return url


@pages.router.get(CALLBACK, name="oauth2_callback")
def callback(request: Request) -> Response:
    """The provider's redirect: the code for tokens, then back to the gateway's page."""
    with request.app.state.db.transaction() as session:
        return _finish(request, session)


def _finish(request: Request, session: Session) -> Response:
    who = need(request, session, "admin")
    settings = request.app.state.settings
    if request.query_params.get("error"):
        raise Refused(400, f"The provider refused: {request.query_params['error'][:100]}.")
    row = gateway_oauth2.pending(session, request.query_params.get("state", ""))
    if row is None:
        raise Refused(400, "This sign-in is unknown or too old; connect the gateway again.")
    gw = found(session, Gateway, row.gateway_id, "gateway")
    try:
        record = flows.exchange_code(
            settings,
            gateway_oauth2.flow_client(settings, gw, row),
            row.pending_redirect_uri,
            str(request.url),
            decrypt(settings, row.pending_verifier_encrypted),
        )
    except OAuth2Failure as exc:
        raise Refused(400, f"Connecting failed: {exc}.") from None
    uow = UnitOfWork(session, settings.topics, sessions.actor(who.principal))
    gateway_oauth2.finish_connect(uow, row, record)
    return RedirectResponse(f"/admin/gateways/{gw.id}/oauth2?done=oauth2-connected", 303)
