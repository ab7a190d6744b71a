"""kernel.oauth2 without a broker: presets, the SASL string, token records, and the token
manager's decisions (refresh or not, rotation saved before use, a refused refresh marks the
record failed, a rotation by another process is picked up). The refreshes go to the
in-process test authorization server (devtools.oauth2_server, authlib's server side)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from devtools.oauth2_server import CLIENT_ID, CLIENT_SECRET, SCOPE, OAuth2TestServer
from kernel.config import Settings
from kernel.crypto import decrypt, encrypt
from kernel.oauth2.providers import PROVIDERS, provider
from kernel.oauth2.records import MemoryTokenStore, TokenRecord
from kernel.oauth2.tokens import OAuth2Failure, TokenManager, xoauth2_b64

USER = "support@company.net"


@pytest.fixture
def settings() -> Settings:
    return Settings(secret_key=SecretStr(Fernet.generate_key().decode()))


@pytest.fixture
def server() -> Iterator[OAuth2TestServer]:
    s = OAuth2TestServer().start()
    yield s
    s.stop()


def _record(settings: Settings, server: OAuth2TestServer, **kw: object) -> TokenRecord:
    base = TokenRecord(
        gateway_id="gw1",
        token_url=server.token_url,
        client_id=CLIENT_ID,
        client_secret_encrypted=encrypt(settings, CLIENT_SECRET),
        scope=SCOPE,
        username=USER,
        version=0,
    )
    return base.with_tokens(settings, server.issue(USER)).model_copy(update=kw)


def test_presets_name_the_mail_scopes_and_microsofts_tenant() -> None:
    ms = provider("microsoft", tenant="contoso.onmicrosoft.com")
    assert ms.token_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert "offline_access" in ms.scopes and any("IMAP.AccessAsUser" in s for s in ms.scopes)
    assert provider("microsoft").authorization_url.startswith(
        "https://login.microsoftonline.com/common/"
    )
    assert PROVIDERS["google"].scopes == ("https://mail.google.com/",)
    assert PROVIDERS["google"].device_url == ""  # no device flow for the mail scope
    custom = provider("generic", token_url="https://idp/token", scopes="a b")
    assert custom.token_url == "https://idp/token" and custom.scopes == ("a", "b")


def test_xoauth2_initial_response() -> None:
    raw = base64.b64decode(xoauth2_b64("u@x", "tok"))
    assert raw == b"user=u@x\x01auth=Bearer tok\x01\x01"


def test_a_response_without_a_refresh_token_keeps_the_stored_one(settings: Settings) -> None:
    rec = TokenRecord(gateway_id="g", token_url="t", client_id="c", username="u")
    rec = rec.with_tokens(
        settings,
        {"access_token": "access-token-1", "refresh_token": "refresh-token-1", "expires_in": 60},
    )
    again = rec.with_tokens(settings, {"access_token": "access-token-2", "expires_in": 60})
    assert decrypt(settings, again.refresh_token_encrypted) == "refresh-token-1"
    assert decrypt(settings, again.access_token_encrypted) == "access-token-2"
    assert again.version == rec.version + 1
    assert (
        "refresh-token-1" not in again.model_dump_json()
        and "access-token-2" not in again.model_dump_json()
    )


def test_a_fresh_token_is_used_without_asking_the_provider(
    settings: Settings, server: OAuth2TestServer
) -> None:
    store = MemoryTokenStore()
    rec = _record(settings, server)
    store.put(rec)
    user, token = TokenManager(settings, store).access_token("gw1")
    assert (user, token) == (USER, decrypt(settings, rec.access_token_encrypted))
    assert server.refreshes == 0 and len(store.writes) == 1


def test_a_token_due_is_refreshed_and_the_rotation_saved_before_use(
    settings: Settings, server: OAuth2TestServer
) -> None:
    store = MemoryTokenStore()
    rec = _record(settings, server, expires_at=time.time() + 10)  # inside the 5 min margin
    store.put(rec)
    _, token = TokenManager(settings, store).access_token("gw1")
    assert server.refreshes == 1
    saved = store.writes[-1]
    assert decrypt(settings, saved.access_token_encrypted) == token
    assert server.active_refresh_tokens(USER) == [decrypt(settings, saved.refresh_token_encrypted)]
    assert saved.version == rec.version + 1


def test_a_refused_refresh_marks_the_record_failed_without_a_secret(
    settings: Settings, server: OAuth2TestServer
) -> None:
    store = MemoryTokenStore()
    rec = _record(settings, server)
    store.put(rec)
    server.revoke_user(USER)
    with pytest.raises(OAuth2Failure) as err:
        TokenManager(settings, store).access_token("gw1", force=True)
    assert err.value.permanent and "invalid_grant" in str(err.value)
    failed = store.writes[-1]
    assert failed.status == "failed" and failed.access_token_encrypted == ""
    assert decrypt(settings, rec.refresh_token_encrypted) not in str(err.value)
    with pytest.raises(OAuth2Failure, match="reconnect"):  # no second call to the provider
        TokenManager(settings, store).access_token("gw1")
    assert server.refreshes == 1


def test_a_rotation_by_another_process_is_used_not_marked_failed(
    settings: Settings, server: OAuth2TestServer
) -> None:
    """Two processes hold the same record; one refreshes (the old refresh token dies).
    The other's refresh is refused, and it takes the rotation the first one saved."""
    store = MemoryTokenStore()
    stale = _record(settings, server, expires_at=time.time() + 10)
    store.put(stale)
    TokenManager(settings, store).access_token("gw1")  # process A rotates
    rotated = store.records["gw1"]

    class Stale(MemoryTokenStore):
        """Process B read the record before A's rotation; later reads see it."""

        def __init__(self) -> None:
            super().__init__()
            self.first = True

        def get(self, gateway_id: str) -> TokenRecord | None:
            if self.first:
                self.first = False
                return stale
            return store.records.get(gateway_id)

        def put(self, record: TokenRecord) -> None:
            store.put(record)

    _, token = TokenManager(settings, Stale()).access_token("gw1")
    assert store.records["gw1"].status == "connected"
    assert token == decrypt(settings, rotated.access_token_encrypted)


def test_not_connected_says_so(settings: Settings) -> None:
    with pytest.raises(OAuth2Failure, match="not connected"):
        TokenManager(settings, MemoryTokenStore()).access_token("nope")


def test_oauthbearer_only_where_xoauth2_is_not_offered() -> None:
    from kernel.oauth2.tokens import mechanism, oauthbearer

    assert mechanism({"PLAIN", "XOAUTH2", "OAUTHBEARER"}) == "XOAUTH2"
    assert mechanism({"plain", "oauthbearer"}) == "OAUTHBEARER"
    assert mechanism(set()) == "XOAUTH2"
    assert oauthbearer("a,b=c@x", "tok", "mail.x", 993) == (
        "n,a=a=2Cb=3Dc@x,\x01host=mail.x\x01port=993\x01auth=Bearer tok\x01\x01"
    )
