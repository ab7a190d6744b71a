"""`supportdesk gateway connect <gateway>`: OAuth2 for a gateway with the device-code flow.

For a terminal without a browser: it prints a code and the provider's address,
the administrator signs the mailbox in anywhere, and the tokens go to
``gateway.tokens`` (through the store's outbox) like a connect from the web page.
The client secret, if the application has one, comes from
SUPPORTDESK_OAUTH2_CLIENT_SECRET or a prompt; it is stored encrypted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from kernel.config import Settings
from kernel.oauth2.tokens import OAuth2Failure
from supportdesk.cli_common import ONE_LINE, db


def _secret(args: argparse.Namespace) -> str | None:
    """None keeps the stored secret (a reconnect); '' is a public client."""
    if os.environ.get("SUPPORTDESK_OAUTH2_CLIENT_SECRET"):
        return os.environ["SUPPORTDESK_OAUTH2_CLIENT_SECRET"]
    if args.client_secret:
        return getpass.getpass("client secret: ")
    return None


def _show(answer: dict) -> None:
    url = answer.get("verification_uri_complete") or answer.get("verification_uri")
    print(f"To connect, open {url} and enter the code {answer.get('user_code')}", flush=True)
    print("waiting for the sign-in…", flush=True)


def cmd_gateway_connect(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.crypto import encrypt
    from kernel.oauth2 import flows
    from services.ticket_store.actions import gateway_oauth2
    from services.ticket_store.queries.gateways import gateway_by_name

    secret = _secret(args)
    database = db(settings)
    with database.unit_of_work(actor="cli") as uow:
        gw = gateway_by_name(uow.session, args.name)
        stored = gateway_oauth2.settings_of(uow.session, gw.id)
        row = gateway_oauth2.save_settings(
            uow,
            gw,
            provider_name=args.provider or (stored.provider if stored else "microsoft"),
            tenant=args.tenant if args.tenant is not None else (stored.tenant if stored else ""),
            client_id=args.client_id or (stored.client_id if stored else ""),
            client_secret_encrypted=None if secret is None else encrypt(settings, secret),
            scope=args.scope or "",
            authorization_url=args.authorization_url or "",
            token_url=args.token_url or "",
            device_url=args.device_url or "",
        )
        client = gateway_oauth2.flow_client(settings, gw, row)
        name = gw.name
    try:
        if client.device_url and not args.paste:
            record = flows.device_flow(settings, client, _show, timeout_s=args.timeout)
        else:
            record = _paste_flow(settings, client, args.redirect_uri)
    except OAuth2Failure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with database.unit_of_work(actor="cli") as uow:
        row = gateway_oauth2.settings_of(uow.session, client.gateway_id)
        assert row is not None
        gateway_oauth2.finish_connect(uow, row, record)
    print(f"gateway {name}: connected with OAuth2 as {client.username}; fetchers use it now")
    return 0


def _paste_flow(settings: Settings, client, redirect_uri: str):  # -> TokenRecord
    """No device flow (Google's mail scope): authorization code + PKCE by hand. The
    administrator opens the URL, signs in, and pastes the address the provider sent the
    browser to (a loopback address that shows nothing, but carries the code)."""
    from kernel.oauth2 import flows

    url, state, verifier = flows.authorization_request(client, redirect_uri)
    print(f"Open this address, sign the mailbox in, then paste the address you land on:\n{url}")
    print("address: ", end="", flush=True)
    answer = sys.stdin.readline().strip()
    if f"state={state}" not in answer:
        raise OAuth2Failure("that address does not answer this sign-in", permanent=True)
    return flows.exchange_code(settings, client, redirect_uri, answer, verifier)


def register(gw: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    gc = add("connect", cmd_gateway_connect, "connect a gateway with OAuth2 (device code)", gw)
    gc.add_argument("name")
    gc.add_argument("--provider", choices=["microsoft", "google", "generic"])
    gc.add_argument("--tenant", type=ONE_LINE, help="Microsoft 365 tenant (default: common)")
    gc.add_argument("--client-id", type=ONE_LINE)
    gc.add_argument("--client-secret", action="store_true", help="ask for the client secret")
    gc.add_argument("--scope", help="space-separated; default: the provider's mail scopes")
    gc.add_argument("--authorization-url", type=ONE_LINE)
    gc.add_argument("--token-url", type=ONE_LINE)
    gc.add_argument("--device-url", type=ONE_LINE)
    gc.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for sign-in")
    gc.add_argument(
        "--paste",
        action="store_true",
        help="authorization code by hand instead of the device flow (always for Google)",
    )
    gc.add_argument(
        "--redirect-uri",
        default="http://127.0.0.1/",
        help="the redirect URI registered for the application (--paste)",
    )


def access_token(settings: Settings, gateway_id: str) -> str:
    """For `gateway test`: the current token, refreshed (and the rotation saved) if due."""
    from kernel.oauth2.records import KafkaTokenStore
    from kernel.oauth2.tokens import TokenManager

    store = KafkaTokenStore(settings)
    try:
        return TokenManager(settings, store).access_token(gateway_id)[1]
    finally:
        store.close()
