"""The test authorization server's clients, codes, tokens, grants and endpoints (authlib).

Kept apart from devtools.oauth2_server (the HTTP side and the test controls). The
grants reach the server's in-memory state through ``self.server.owner``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCredentialDict,
)
from authlib.oauth2.rfc8628 import (
    DeviceCodeGrant as _DeviceCodeGrant,
)

CLIENT_ID = "supportdesk"
CLIENT_SECRET = "supportdesk-client-secret"
PUBLIC_CLIENT_ID = "supportdesk-cli"  # no secret (device flow from a terminal)
RESOURCE_ID = "resource"  # Dovecot and the test SMTP server introspect as this client
RESOURCE_SECRET = "resource-secret"
SCOPE = "mail offline_access"


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str = ""
    redirect_uris: list[str] = field(default_factory=list)  # empty: any (tests pick ports)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0] if self.redirect_uris else ""

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or SCOPE

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return not self.redirect_uris or redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.client_secret) and client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return (method == "none") == (not self.client_secret)

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return self.client_id != RESOURCE_ID


@dataclass
class AuthCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):
    access_token: str
    refresh_token: str | None
    client_id: str
    scope: str
    user: str
    expires_in: int
    grant: str  # one connect's chain of rotations; revoking it kills them all
    issued_at: float = field(default_factory=time.time)
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> str:
        return self.user


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.owner.codes[code] = AuthCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope or "",
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=time.time() + 300,
        )

    def query_authorization_code(self, code: str, client: ClientMixin) -> AuthCode | None:
        item = self.server.owner.codes.get(code)
        if item and item.client_id == client.get_client_id() and item.expires_at > time.time():
            return item
        return None

    def delete_authorization_code(self, authorization_code: AuthCode) -> None:
        self.server.owner.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthCode) -> str:
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation, as Microsoft 365 does

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        owner = self.server.owner
        with owner.lock:
            owner.refreshes += 1
            for t in owner.tokens:
                if t.refresh_token == refresh_token and not t.refresh_revoked:
                    return t
        return None

    def authenticate_user(self, refresh_token: Token) -> str:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.refresh_revoked = True  # the old refresh token is dead at once


class DeviceCodeGrant(_DeviceCodeGrant):
    def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
        return self.server.owner.devices.get(device_code)

    def query_user_grant(self, user_code: str) -> tuple[str, bool] | None:
        return self.server.owner.device_grants.get(user_code)

    def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
        return False


class DeviceEndpoint(DeviceAuthorizationEndpoint):
    INTERVAL = 1
    EXPIRES_IN = 300

    def get_verification_uri(self) -> str:
        return f"{self.server.owner.url}/device"

    def save_device_credential(self, client_id: str, scope: str, data: dict) -> None:
        cred = DeviceCredentialDict(
            client_id=client_id, scope=scope, expires_at=time.time() + self.EXPIRES_IN, **data
        )
        self.server.owner.devices[data["device_code"]] = cred


class _TokenFinder:
    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        owner = self.server.owner  # type: ignore[attr-defined]
        with owner.lock:
            for t in owner.tokens:
                if token_string in (t.access_token, t.refresh_token):
                    return t
        return None


class Introspection(_TokenFinder, IntrospectionEndpoint):
    def check_permission(self, token: Token, client: ClientMixin, request: OAuth2Request) -> bool:
        return True

    def introspect_token(self, token: Token) -> dict[str, Any]:
        self.server.owner.introspections += 1
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "username": token.user,
            "scope": token.scope,
            "exp": int(token.issued_at + token.expires_in),
            "iat": int(token.issued_at),
        }


class Revocation(_TokenFinder, RevocationEndpoint):
    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        self.server.owner.revoke_grant(token.grant)
