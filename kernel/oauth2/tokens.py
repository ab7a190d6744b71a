"""Access tokens for a gateway: refreshed before expiry, rotations saved before use.

Failures say what to do and name no secret. A refused refresh (``invalid_grant``:
revoked, expired, or consent withdrawn) marks the record failed for every process,
so nobody hammers the provider and the web shows "reconnect"; a provider that is
merely unreachable is a temporary failure and the record stays as it was.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import defaultdict

from kernel.config import Settings
from kernel.crypto import decrypt
from kernel.oauth2.records import TokenRecord, TokenStore

if os.environ.get("SUPPORTDESK_OAUTH2_INSECURE_HTTP"):  # the test server speaks plain http
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402


class OAuth2Failure(Exception):
    """No usable access token; ``permanent`` when only reconnecting the gateway helps."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def xoauth2(username: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response, unencoded (smtplib and imapclient encode it)."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01"


def xoauth2_b64(username: str, access_token: str) -> str:
    return base64.b64encode(xoauth2(username, access_token).encode()).decode()


def oauthbearer(username: str, access_token: str, host: str, port: int) -> str:
    """The SASL OAUTHBEARER (RFC 7628) initial response, unencoded."""
    user = username.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {access_token}\x01\x01"


def mechanism(offered: set[str]) -> str:
    """XOAUTH2 where offered (Microsoft, Google), else the standard OAUTHBEARER; a server
    that names neither still gets XOAUTH2, whose refusal then says why."""
    offered = {m.upper() for m in offered}
    return "OAUTHBEARER" if "OAUTHBEARER" in offered and "XOAUTH2" not in offered else "XOAUTH2"


def session_for(settings: Settings, record: TokenRecord) -> OAuth2Session:
    """An authlib client for the record's provider (public client without a secret)."""
    secret = record.client_secret(settings)
    return OAuth2Session(
        record.client_id,
        secret or None,
        scope=record.scope or None,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
    )


class TokenManager:
    """One per process; thread-safe, one refresh at a time per gateway."""

    def __init__(self, settings: Settings, store: TokenStore, *, margin_s: float = 300) -> None:
        self.settings = settings
        self.store = store
        self.margin_s = margin_s
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def _margin(self, record: TokenRecord) -> float:
        """Refresh this long before expiry: 5 minutes, or a quarter of a short lifetime."""
        return min(self.margin_s, record.expires_in / 4)

    def access_token(self, gateway_id: str, *, force: bool = False) -> tuple[str, str]:
        """(username, access token) valid for at least the margin; ``force`` refreshes
        anyway (a token the server refused at login although it had not expired)."""
        with self._locks[gateway_id]:
            record = self.store.get(gateway_id)
            if record is None:
                raise OAuth2Failure(
                    "not connected: connect the gateway with OAuth2 first", permanent=True
                )
            if record.status == "failed":
                raise OAuth2Failure(f"{record.reason}; reconnect the gateway", permanent=True)
            fresh = record.expires_at - time.time() > self._margin(record)
            if fresh and not force and record.access_token_encrypted:
                return record.username, decrypt(self.settings, record.access_token_encrypted)
            return self._refresh(record)

    def _refresh(self, record: TokenRecord, retried: bool = False) -> tuple[str, str]:
        refresh = decrypt(self.settings, record.refresh_token_encrypted)
        if not refresh:
            raise OAuth2Failure("no refresh token stored; reconnect the gateway", permanent=True)
        try:
            with session_for(self.settings, record) as session:
                token = session.refresh_token(record.token_url, refresh_token=refresh, timeout=15)
        except OAuthError as exc:
            if exc.error != "invalid_grant":
                raise OAuth2Failure(
                    f"token refresh refused: {exc.error}", permanent=False
                ) from None
            latest = self.store.get(record.gateway_id)
            if not retried and latest is not None and latest.version > record.version:
                # Another process rotated the token meanwhile: use what it saved.
                if latest.status == "failed":
                    raise OAuth2Failure(latest.reason, permanent=True) from None
                if latest.expires_at - time.time() > self._margin(latest):
                    return latest.username, decrypt(self.settings, latest.access_token_encrypted)
                return self._refresh(latest, retried=True)
            reason = "refresh token refused by the provider (invalid_grant: revoked or expired)"
            self.store.put(record.failed(reason))
            raise OAuth2Failure(f"{reason}; reconnect the gateway", permanent=True) from None
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors; bad JSON
            raise OAuth2Failure(
                f"token endpoint unreachable: {type(exc).__name__}", permanent=False
            ) from None
        new = record.with_tokens(self.settings, token)
        self.store.put(new)  # saved (broker ack) before the new token is used
        return new.username, token["access_token"]
