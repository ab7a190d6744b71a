"""The connect flows, with authlib: authorization code + PKCE (web), device code (CLI).

Each ends in a TokenRecord ready for ``gateway.tokens``. Its version is the connect's
time in milliseconds, so a reconnect always outranks the chain of rotations before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from authlib.common.security import generate_token

from kernel.config import Settings
from kernel.crypto import encrypt
from kernel.oauth2.records import TokenRecord
from kernel.oauth2.tokens import OAuth2Failure, OAuth2Session, OAuthError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Client:
    """What a flow needs to know about the gateway's provider and application."""

    gateway_id: str
    username: str
    provider: str
    client_id: str
    client_secret: str
    scope: str
    token_url: str
    authorization_url: str = ""
    device_url: str = ""

    def session(self, **kw: object) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret or None,
            scope=self.scope,
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",
            **kw,
        )

    def record(self, settings: Settings, token: dict) -> TokenRecord:
        base = TokenRecord(
            gateway_id=self.gateway_id,
            version=int(time.time() * 1000) - 1,
            provider=self.provider,
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret_encrypted=encrypt(settings, self.client_secret),
            scope=self.scope,
            username=self.username,
        )
        if not token.get("refresh_token"):
            raise OAuth2Failure(
                "the provider gave no refresh token (is offline_access among the scopes?)",
                permanent=True,
            )
        return base.with_tokens(settings, token)


def authorization_request(client: Client, redirect_uri: str) -> tuple[str, str, str]:
    """(URL to send the administrator to, state, PKCE code verifier)."""
    verifier = generate_token(64)
    with client.session(redirect_uri=redirect_uri, code_challenge_method="S256") as s:
        url, state = s.create_authorization_url(
            client.authorization_url, code_verifier=verifier, login_hint=client.username
        )
    return url, state, verifier


def exchange_code(
    settings: Settings, client: Client, redirect_uri: str, callback_url: str, verifier: str
) -> TokenRecord:
    """The callback's code (checked against the verifier by the provider) for tokens."""
    try:
        with client.session(redirect_uri=redirect_uri) as s:
            token = s.fetch_token(
                client.token_url,
                authorization_response=callback_url,
                code_verifier=verifier,
                timeout=15,
            )
    except OAuthError as exc:
        raise OAuth2Failure(f"the provider refused the code: {exc.error}", permanent=True) from None
    return client.record(settings, dict(token))


def device_flow(
    settings: Settings,
    client: Client,
    show: Callable[[dict], None],
    *,
    timeout_s: float = 900,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenRecord:
    """RFC 8628: ask for a user code, show it, poll the token endpoint until approved."""
    if not client.device_url:
        raise OAuth2Failure("this provider has no device flow for mail scopes", permanent=True)
    with client.session() as s:
        data = {"client_id": client.client_id, "scope": client.scope}
        if client.client_secret:
            data["client_secret"] = client.client_secret
        try:  # no token yet: the request goes without one
            resp = s.post(client.device_url, data=data, timeout=15, withhold_token=True)
        except OSError as exc:
            raise OAuth2Failure(
                f"device authorization: {type(exc).__name__}", permanent=False
            ) from None
        if resp.status_code != 200:
            raise OAuth2Failure(f"device authorization refused: {resp.text[:200]}", permanent=True)
        answer = resp.json()
        show(answer)
        interval = float(answer.get("interval") or 5)
        deadline = time.monotonic() + min(timeout_s, float(answer.get("expires_in") or timeout_s))
        while time.monotonic() < deadline:
            sleep(interval)
            try:
                token = s.fetch_token(
                    client.token_url,
                    grant_type=DEVICE_GRANT,
                    device_code=answer["device_code"],
                    timeout=15,
                )
            except OAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += 5
                    continue
                raise OAuth2Failure(f"device flow ended: {exc.error}", permanent=True) from None
            return client.record(settings, dict(token))
    raise OAuth2Failure("the code was not approved in time", permanent=True)
