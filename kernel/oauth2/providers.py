"""Provider presets: where to authorize, get and refresh tokens, and which scopes mail needs.

Microsoft 365 rotates refresh tokens on every refresh (the new one must be saved
at once, or the mailbox dies after 90 days); Google does not rotate them but
retires app passwords. A generic provider takes every URL from the administrator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    authorization_url: str
    token_url: str
    device_url: str  # "" when the provider has no device flow for mail scopes
    scopes: tuple[str, ...]
    imap_host: str = ""
    pop3_host: str = ""
    smtp_host: str = ""

    def for_tenant(self, tenant: str) -> Provider:
        """Microsoft's URLs name a tenant ("common", "organizations" or a tenant id)."""
        t = tenant or "common"
        return replace(
            self,
            authorization_url=self.authorization_url.replace("{tenant}", t),
            token_url=self.token_url.replace("{tenant}", t),
            device_url=self.device_url.replace("{tenant}", t),
        )


_MS = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
_OUTLOOK = "https://outlook.office.com"

PROVIDERS: dict[str, Provider] = {
    "microsoft": Provider(
        name="microsoft",
        title="Microsoft 365",
        authorization_url=f"{_MS}/authorize",
        token_url=f"{_MS}/token",
        device_url=f"{_MS}/devicecode",
        scopes=(
            f"{_OUTLOOK}/IMAP.AccessAsUser.All",
            f"{_OUTLOOK}/POP.AccessAsUser.All",
            f"{_OUTLOOK}/SMTP.Send",
            "offline_access",
        ),
        imap_host="outlook.office365.com",
        pop3_host="outlook.office365.com",
        smtp_host="smtp.office365.com",
    ),
    "google": Provider(
        name="google",
        title="Google Workspace",
        authorization_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        # Google's device flow does not allow the mail scope: the CLI falls back to
        # printing the authorization URL and reading the code back.
        device_url="",
        scopes=("https://mail.google.com/",),
        imap_host="imap.gmail.com",
        pop3_host="pop.gmail.com",
        smtp_host="smtp.gmail.com",
    ),
    "generic": Provider(
        name="generic",
        title="Other provider (enter its URLs)",
        authorization_url="",
        token_url="",
        device_url="",
        scopes=(),
    ),
}


def provider(
    name: str,
    *,
    tenant: str = "",
    authorization_url: str = "",
    token_url: str = "",
    device_url: str = "",
    scopes: str = "",
) -> Provider:
    """A preset, with any URL or scope the administrator gave taking precedence."""
    base = PROVIDERS[name].for_tenant(tenant)
    return replace(
        base,
        authorization_url=authorization_url or base.authorization_url,
        token_url=token_url or base.token_url,
        device_url=device_url or base.device_url,
        scopes=tuple(scopes.split()) if scopes.strip() else base.scopes,
    )
