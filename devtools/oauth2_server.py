"""A small OAuth2 authorization server for tests, built on authlib's server side.

It issues, rotates, expires and revokes tokens as Microsoft 365 does, so the
fetcher, the mailer, the web connect flow and the CLI meet the failures the
peers' users report (a rotated refresh token not saved, an expired or revoked
token). Grants: authorization code with PKCE (S256 required), device code,
refresh token with rotation (the old refresh token is dead at once). Endpoints:
/authorize (approves at once as ``approve_as``), /token, /device_authorization,
/device (approves a user code), /revoke (RFC 7009), /introspect (RFC 7662,
for Dovecot's oauth2 passdb and the test SMTP server; Basic auth as ``resource``).

Runs in-process (:meth:`OAuth2TestServer.start`) or as a subprocess:
``python -m devtools.oauth2_server --port N``.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

# The server listens on plain http on loopback; authlib refuses that unless told.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.common.security import generate_token  # noqa: E402
from authlib.oauth2 import AuthorizationServer, OAuth2Error  # noqa: E402
from authlib.oauth2.rfc6749 import (  # noqa: E402
    AuthorizationCodeMixin,
    ClientMixin,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # noqa: E402
from authlib.oauth2.rfc7009 import RevocationEndpoint  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # noqa: E402
from authlib.oauth2.rfc8628 import (  # noqa: E402
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)

from devtools.net import free_port  # noqa: E402

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


class _Request(OAuth2Request):
    """A WSGI request as authlib sees it: query and form merged into one payload."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], query: dict, form: dict):
        super().__init__(method, uri, headers=headers)
        self._args, self._form = query, form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):
    def __init__(self, owner: OAuth2TestServer) -> None:
        super().__init__(scopes_supported=None)
        self.owner = owner
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **kw: generate_token(42),
                lambda **kw: generate_token(48),
                lambda client, grant_type: owner.access_ttl_s,
            ),
        )

    def query_client(self, client_id: str) -> Client | None:
        return self.owner.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        owner = self.owner
        grant = getattr(request, "_grant_id", None) or uuid.uuid4().hex
        if request.refresh_token is not None:
            grant = request.refresh_token.grant
        with owner.lock:
            owner.tokens.append(
                Token(
                    access_token=token["access_token"],
                    refresh_token=token.get("refresh_token"),
                    client_id=request.client.get_client_id(),
                    scope=token.get("scope", ""),
                    user=request.user,
                    expires_in=int(token["expires_in"]),
                    grant=grant,
                )
            )
            owner.issued += 1

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def handle_response(self, status: int, body: Any, headers: list) -> tuple:
        return status, body, headers


class _AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
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


class _RefreshTokenGrant(grants.RefreshTokenGrant):
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


class _DeviceCodeGrant(DeviceCodeGrant):
    def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
        return self.server.owner.devices.get(device_code)

    def query_user_grant(self, user_code: str) -> tuple[str, bool] | None:
        return self.server.owner.device_grants.get(user_code)

    def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
        return False


class _DeviceEndpoint(DeviceAuthorizationEndpoint):
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


class _Introspection(_TokenFinder, IntrospectionEndpoint):
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


class _Revocation(_TokenFinder, RevocationEndpoint):
    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        self.server.owner.revoke_grant(token.grant)


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class OAuth2TestServer:
    """The authorization server; ``url`` is its base (http://127.0.0.1:<port>).

    Test controls: ``access_ttl_s`` (lifetime of new access tokens), ``approve_as``
    (the user /authorize signs in), :meth:`approve_device`, :meth:`revoke_user`,
    :meth:`active_refresh_tokens`; counters ``issued``, ``refreshes``, ``introspections``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, access_ttl_s: int = 3600) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.access_ttl_s = access_ttl_s
        self.approve_as = "support@company.net"
        self.lock = threading.RLock()
        self.clients = {
            CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET),
            PUBLIC_CLIENT_ID: Client(PUBLIC_CLIENT_ID),
            RESOURCE_ID: Client(RESOURCE_ID, RESOURCE_SECRET),
        }
        self.codes: dict[str, AuthCode] = {}
        self.tokens: list[Token] = []
        self.devices: dict[str, DeviceCredentialDict] = {}
        self.device_grants: dict[str, tuple[str, bool]] = {}
        self.issued = self.refreshes = self.introspections = 0
        self.server = _Server(self)
        self.server.register_grant(_AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.server.register_grant(_RefreshTokenGrant)
        self.server.register_grant(_DeviceCodeGrant)
        self.server.register_endpoint(_DeviceEndpoint)
        self.server.register_endpoint(_Introspection)
        self.server.register_endpoint(_Revocation)
        self._httpd: WSGIServer | None = None

    # ------------------------------------------------------------ URLs
    @property
    def authorization_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def device_url(self) -> str:
        return f"{self.url}/device_authorization"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def revocation_url(self) -> str:
        return f"{self.url}/revoke"

    # ------------------------------------------------------------ test controls
    def approve_device(self, user_code: str, user: str | None = None) -> None:
        self.device_grants[user_code] = (user or self.approve_as, True)

    def revoke_grant(self, grant: str) -> None:
        with self.lock:
            for t in self.tokens:
                if t.grant == grant:
                    t.access_revoked = t.refresh_revoked = True

    def revoke_user(self, user: str) -> int:
        """Revoke every token of a user (an administrator pulled the app's consent)."""
        with self.lock:
            grants_ = {t.grant for t in self.tokens if t.user == user}
        for g in grants_:
            self.revoke_grant(g)
        return len(grants_)

    def active_refresh_tokens(self, user: str) -> list[str]:
        with self.lock:
            return [
                t.refresh_token
                for t in self.tokens
                if t.user == user and t.refresh_token and not t.refresh_revoked
            ]

    def issue(self, user: str, client_id: str = CLIENT_ID, scope: str = SCOPE) -> dict[str, Any]:
        """A token pair without a browser (tests that are not about connecting)."""
        tok = Token(
            access_token=generate_token(42),
            refresh_token=generate_token(48),
            client_id=client_id,
            scope=scope,
            user=user,
            expires_in=self.access_ttl_s,
            grant=uuid.uuid4().hex,
        )
        with self.lock:
            self.tokens.append(tok)
            self.issued += 1
        return {
            "access_token": tok.access_token,
            "refresh_token": tok.refresh_token,
            "expires_in": tok.expires_in,
            "expires_at": tok.issued_at + tok.expires_in,
            "token_type": "Bearer",
            "scope": scope,
        }

    # ------------------------------------------------------------ HTTP
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        form: dict[str, str] = {}
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = dict(parse_qsl(environ["wsgi.input"].read(length).decode()))
        headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", "")}
        qs = environ.get("QUERY_STRING", "")
        uri = f"{self.url}{path}" + (f"?{qs}" if qs else "")
        req = _Request(method, uri, headers, query, form)
        try:
            status, body, hdrs = self._route(path, req)
        except OAuth2Error as exc:
            status, body, hdrs = exc.status_code, dict(exc.get_body()), []
        if isinstance(body, dict):
            body = json.dumps(body)
            hdrs = [*hdrs, ("Content-Type", "application/json")]
        hdrs = [(k, v) for k, v in hdrs if k.lower() != "content-type"] + [
            ("Content-Type", "application/json" if body[:1] in "{[" else "text/plain")
        ]
        start_response(f"{status} X", hdrs)
        return [str(body).encode()]

    def _route(self, path: str, req: _Request) -> tuple[int, Any, list]:
        s = self.server
        if path == "/authorize":
            user = req.payload.data.get("login_hint") or self.approve_as
            return s.create_authorization_response(req, grant_user=user)
        if path == "/token":
            return s.create_token_response(req)
        if path == "/device_authorization":
            return s.create_endpoint_response("device_authorization", req)
        if path == "/device":
            code = req.payload.data.get("user_code", "")
            self.approve_device(code, req.payload.data.get("user") or None)
            return 200, "approved", []
        if path == "/introspect":
            return s.create_endpoint_response("introspection", req)
        if path == "/revoke":
            return s.create_endpoint_response("revocation", req)
        return 404, {"error": "not_found"}, []

    def start(self) -> OAuth2TestServer:
        self._httpd = make_server(
            self.host, self.port, self.wsgi, server_class=_Threaded, handler_class=_Quiet
        )
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name="oauth2").start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OAuth2TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--access-ttl", type=int, default=3600)
    args = parser.parse_args()
    server = OAuth2TestServer(args.host, args.port, args.access_ttl).start()
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
