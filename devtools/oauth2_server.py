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
import uuid
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

# The server listens on plain http on loopback; authlib refuses that unless told.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.common.security import generate_token  # noqa: E402
from authlib.oauth2 import AuthorizationServer, OAuth2Error  # noqa: E402
from authlib.oauth2.rfc6749 import OAuth2Request  # noqa: E402
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oauth2.rfc8628 import DeviceCredentialDict  # noqa: E402

from devtools.net import free_port  # noqa: E402
from devtools.oauth2_grants import (  # noqa: E402
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    RESOURCE_ID,
    RESOURCE_SECRET,
    SCOPE,
    AuthCode,
    AuthorizationCodeGrant,
    Client,
    DeviceCodeGrant,
    DeviceEndpoint,
    Introspection,
    RefreshTokenGrant,
    Revocation,
    Token,
)

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PUBLIC_CLIENT_ID",
    "RESOURCE_ID",
    "RESOURCE_SECRET",
    "SCOPE",
    "OAuth2TestServer",
]


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


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _endpoint(path: str) -> property:
    """The URL of the server's endpoint at `path` (a read-only attribute)."""
    return property(lambda server: f"{server.url}{path}")


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
        self.server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.server.register_grant(RefreshTokenGrant)
        self.server.register_grant(DeviceCodeGrant)
        self.server.register_endpoint(DeviceEndpoint)
        self.server.register_endpoint(Introspection)
        self.server.register_endpoint(Revocation)
        self._httpd: WSGIServer | None = None

    # ------------------------------------------------------------ URLs
    authorization_url = _endpoint("/authorize")
    token_url = _endpoint("/token")
    device_url = _endpoint("/device_authorization")
    introspection_url = _endpoint("/introspect")
    revocation_url = _endpoint("/revoke")

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
        threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), daemon=True, name="oauth2"
        ).start()
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
