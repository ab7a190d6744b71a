"""OAuth2 gateways against real parts: Dovecot's oauth2 passdb asks the test
authorization server (authlib) about every token, the broker holds the tokens.

Scenarios: fetch over IMAP and POP3 with XOAUTH2; an expired access token is
refreshed and the rotated refresh token saved where a second fetcher finds it;
a revoked token makes only its gateway unhealthy while another keeps fetching.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from devtools.dovecot import DovecotServer
from devtools.oauth2_server import OAuth2TestServer
from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.crypto import decrypt
from kernel.oauth2.records import KafkaTokenStore
from kernel.oauth2.tokens import TokenManager
from services.fetcher.gateway import GatewayRunner
from services.fetcher.state import GatewayHealth
from tests.fixtures.dovecot import DEFAULT_USER
from tests.fixtures.oauth2 import connect_gateway, introspection_url_with_credentials
from tests.integration.fetcher.conftest import fast_options, imap_entry, mail, pop3_entry, read_raw

OTHER_USER = "sales@company.net"


def runner(settings: Settings, server: DovecotServer, entry, tokens: TokenManager, **kw):
    return GatewayRunner(
        entry,
        settings,
        fast_options(idle=True, **kw.pop("opts", {})),
        blobs=BlobStore(settings.blob_dir),
        ca_file=str(server.ca_path),
        tokens=tokens,
        **kw,
    )


def manager(settings: Settings, margin_s: float = 300) -> TokenManager:
    """A process's token manager (each call: another process, reading the topic afresh)."""
    return TokenManager(settings, KafkaTokenStore(settings), margin_s=margin_s)


def test_imap_and_pop3_fetch_with_xoauth2(
    fetch_settings: Settings, oauth2_server: OAuth2TestServer, oauth2_dovecot: DovecotServer
) -> None:
    for i in range(2):
        oauth2_dovecot.save(DEFAULT_USER, mail(i))
    imap = imap_entry(fetch_settings, oauth2_dovecot, auth="oauth2", password_encrypted="")
    pop3 = pop3_entry(fetch_settings, oauth2_dovecot, auth="oauth2", password_encrypted="")
    connect_gateway(fetch_settings, oauth2_server, imap.gateway_id, DEFAULT_USER)
    connect_gateway(fetch_settings, oauth2_server, pop3.gateway_id, DEFAULT_USER)
    tokens = manager(fetch_settings)
    for entry in (imap, pop3):
        r = runner(fetch_settings, oauth2_dovecot, entry, tokens)
        try:
            assert r.poll_once() == 2
        finally:
            r.close()
    raws = read_raw(fetch_settings)
    assert sorted(x.source.protocol for x in raws) == ["imap", "imap", "pop3", "pop3"]
    assert oauth2_server.introspections >= 2  # Dovecot checked the tokens, no password
    assert oauth2_server.refreshes == 0  # fresh tokens are not refreshed


def test_expired_token_is_refreshed_and_the_rotation_saved_for_every_instance(
    fetch_settings: Settings, oauth2_server: OAuth2TestServer, oauth2_dovecot: DovecotServer
) -> None:
    oauth2_server.access_ttl_s = 5
    entry = imap_entry(fetch_settings, oauth2_dovecot, auth="oauth2", password_encrypted="")
    first = connect_gateway(fetch_settings, oauth2_server, entry.gateway_id, DEFAULT_USER)
    old_refresh = decrypt(fetch_settings, first.refresh_token_encrypted)
    oauth2_dovecot.save(DEFAULT_USER, mail(0))
    r = runner(fetch_settings, oauth2_dovecot, entry, manager(fetch_settings, margin_s=0.1))
    try:
        assert r.poll_once() == 1
    finally:
        r.close()
    assert oauth2_server.refreshes == 0
    # Wait until the access token is dead at the server (introspection: inactive).
    time.sleep(max(0.0, first.expires_at - time.time()) + 0.2)

    oauth2_dovecot.save(DEFAULT_USER, mail(1))
    r = runner(fetch_settings, oauth2_dovecot, entry, manager(fetch_settings))
    try:
        assert r.poll_once() == 1  # refreshed before login, not after a refusal
    finally:
        r.close()
    assert oauth2_server.refreshes == 1
    saved = KafkaTokenStore(fetch_settings).get(entry.gateway_id)
    assert saved is not None and saved.version == first.version + 1
    new_refresh = decrypt(fetch_settings, saved.refresh_token_encrypted)
    assert new_refresh != old_refresh
    # What the server now accepts is exactly what was saved (the old one is dead).
    assert oauth2_server.active_refresh_tokens(DEFAULT_USER) == [new_refresh]

    # A second fetcher instance (another process) logs in with the saved rotation.
    oauth2_dovecot.save(DEFAULT_USER, mail(2))
    r = runner(fetch_settings, oauth2_dovecot, entry, manager(fetch_settings))
    try:
        assert r.poll_once() == 1
    finally:
        r.close()
    assert len(read_raw(fetch_settings)) == 3


def test_revoked_token_marks_only_its_gateway_unhealthy_and_the_other_keeps_fetching(
    fetch_settings: Settings,
    oauth2_server: OAuth2TestServer,
    oauth2_dovecot: DovecotServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    oauth2_dovecot.add_user(OTHER_USER, "unused")
    bad = pop3_entry(fetch_settings, oauth2_dovecot, name="bad", auth="oauth2", username=OTHER_USER)
    good = imap_entry(fetch_settings, oauth2_dovecot, name="good", auth="oauth2")
    bad_rec = connect_gateway(fetch_settings, oauth2_server, bad.gateway_id, OTHER_USER)
    connect_gateway(fetch_settings, oauth2_server, good.gateway_id, DEFAULT_USER)
    assert oauth2_server.revoke_user(OTHER_USER) == 1  # consent withdrawn at the provider

    health: dict[str, list[GatewayHealth]] = {bad.gateway_id: [], good.gateway_id: []}
    tokens = manager(fetch_settings)  # one per process, shared by the gateways' threads
    runners = [
        runner(
            fetch_settings,
            oauth2_dovecot,
            e,
            tokens,
            health_sink=lambda h: health[h.gateway_id].append(h),
        )
        for e in (bad, good)
    ]
    threads = [threading.Thread(target=r.run, daemon=True) for r in runners]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 15
        reason = ""
        while time.monotonic() < deadline:
            errors = [h.last_error or "" for h in health[bad.gateway_id]]
            if any("invalid_grant" in e for e in errors):
                reason = next(e for e in errors if "invalid_grant" in e)
                break
            time.sleep(0.1)
        assert "reconnect the gateway" in reason, health[bad.gateway_id]
        assert health[bad.gateway_id][-1].status == "failing"
        # The other gateway goes on: mail arriving now is fetched.
        for i in range(3):
            oauth2_dovecot.save(DEFAULT_USER, mail(i))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(read_raw(fetch_settings)) < 3:
            time.sleep(0.2)
        assert len(read_raw(fetch_settings)) == 3
        assert all(h.status == "ok" for h in health[good.gateway_id][-1:])
    finally:
        for r in runners:
            r.stop_event.set()
        for t in threads:
            t.join(20)
    saved = KafkaTokenStore(fetch_settings).get(bad.gateway_id)
    assert saved is not None and saved.status == "failed" and "invalid_grant" in saved.reason
    assert saved.access_token_encrypted == ""
    # No secret in any health report or log line.
    secrets = [decrypt(fetch_settings, bad_rec.refresh_token_encrypted)]
    secrets.append(decrypt(fetch_settings, bad_rec.access_token_encrypted))
    texts = [h.model_dump_json() for hs in health.values() for h in hs]
    texts += [rec.getMessage() for rec in caplog.records]
    assert not [t for t in texts for s in secrets if s in t]


def test_a_server_offering_only_oauthbearer_gets_oauthbearer(
    fetch_settings: Settings,
    oauth2_server: OAuth2TestServer,
    dovecot_factory,
) -> None:
    server = dovecot_factory(
        oauth2_introspection_url=introspection_url_with_credentials(oauth2_server),
        oauth2_mechanisms="oauthbearer",
    )
    server.save(DEFAULT_USER, mail(0))
    imap = imap_entry(fetch_settings, server, auth="oauth2", password_encrypted="")
    pop3 = pop3_entry(fetch_settings, server, auth="oauth2", password_encrypted="")
    tokens = manager(fetch_settings)
    for entry in (imap, pop3):
        connect_gateway(fetch_settings, oauth2_server, entry.gateway_id, DEFAULT_USER)
        r = runner(fetch_settings, server, entry, tokens)
        try:
            assert r.poll_once() == 1
        finally:
            r.close()
    log = server.log_path.read_text(errors="replace")
    assert "oauthbearer" in log.lower() and "xoauth2" not in log.lower()
