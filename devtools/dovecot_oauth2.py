"""Dovecot's oauth2 passdb for the test Dovecot: tokens checked at an introspection URL.

Dovecot 2.3 posts ``token=<access token>`` to the URL (RFC 7662) and accepts the
login when the answer has ``active: true`` and a ``username`` equal to the login
name. Client credentials for the introspection go in the URL (Basic auth).
The passwd-file passdb stays first, so plain logins of other tests are unchanged.
"""

from __future__ import annotations

from pathlib import Path

OAUTH2_MECHANISMS = "xoauth2 oauthbearer"


def write_oauth2_conf(path: Path, introspection_url: str) -> None:
    path.write_text(
        f"introspection_mode = post\n"
        f"introspection_url = {introspection_url}\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
        "tls_ca_cert_file = /etc/ssl/certs/ca-certificates.crt\n"
    )
    path.chmod(0o644)


def passdb_block(path: Path, mechanisms: str = OAUTH2_MECHANISMS) -> str:
    """The oauth2 passdb for ``mechanisms`` (both, or one: a server offering only
    OAUTHBEARER, say); the passwd-file passdb before it keeps plain logins working."""
    return f"passdb {{\n  driver = oauth2\n  mechanisms = {mechanisms}\n  args = {path}\n}}\n"
