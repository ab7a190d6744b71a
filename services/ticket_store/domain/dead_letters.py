"""Which dead letters can be reprocessed: those of a mail (not a ledger item or a grant)."""

from __future__ import annotations

NOT_MAIL_PREFIXES = ("grant-", "ledger-", "undecodable-")


def reprocessable(stage: str, email_id: str, kept_record: bool) -> bool:
    """A store-stage letter with its record kept, or a router-stage letter of a real mail
    (re-published from mail.raw). The router names non-mail letters by these prefixes."""
    if kept_record:
        return True
    return (
        stage.startswith("router.")
        and stage != "router.ledger"
        and not email_id.startswith(NOT_MAIL_PREFIXES)
    )
