"""The CSRF comparison both adapters use: the session's own token, nothing else."""

from __future__ import annotations

from services.ticket_store.auth import Principal
from services.ticket_store.http.sessions import actor, csrf_ok


def test_only_the_sessions_own_token_passes() -> None:
    session = Principal("staff", 3, "session", 1, "s3cr3t-token")
    assert csrf_ok(session, "s3cr3t-token")
    for sent in ("", "s3cr3t-toke", "s3cr3t-token ", "S3CR3T-TOKEN"):
        assert not csrf_ok(session, sent), sent
    bearer = Principal("client", 7, "bearer", 2)
    assert not csrf_ok(bearer, "") and not csrf_ok(bearer, "anything")
    assert (actor(session), actor(bearer)) == ("staff:3", "client:7")
