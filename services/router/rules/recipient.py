"""Rule 3, recipient: the gateway's address must be in To (whole address, any case).

Cc, Bcc and Delivered-To do not count and an alias is not the gateway's
address (the seed's support@company.NET example); only the gateway's own
list of extra accepted addresses widens it.
"""

from __future__ import annotations

from schemas.events import Decision
from services.router.mail import ParsedMail, normalise_address
from services.router.rules.base import Context, Verdict

NAME = "recipient"


def accepted(ctx: Context) -> set[str]:
    gw = ctx.raw.gateway
    return {normalise_address(gw.address)} | {normalise_address(a) for a in gw.extra_addresses}


def check(mail: ParsedMail, ctx: Context) -> Verdict | None:
    wanted = accepted(ctx)
    if any(addr in wanted for addr in mail.to_addresses):
        return None
    if not mail.to_addresses:
        reason = "no To address"
    else:
        reason = f"gateway address {ctx.raw.gateway.address} not in To"
    return Verdict(Decision.IGNORED_RECIPIENT, NAME, reason)
