"""Rule 1, parse: any bytes in, a decision out.

`read` turns bytes into a ParsedMail (or a malformed verdict). Mail without a
usable From still passes: bounces often have none (``From: MAILER-DAEMON <>``)
and the automatic rule must see them; other such mail ends in Incoming, with
the reason (a display name alone is never taken for an address).
"""

from __future__ import annotations

from kernel.config import MailLimits
from schemas.events import Decision
from services.router.mail import DEFAULT_LIMITS, MalformedMail, ParsedMail, parse
from services.router.rules.base import Action, Context, Verdict

NAME = "parse"


def read(data: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail | Verdict:
    """A mail over a limit is malformed with the limit in the reason, never cut silently."""
    try:
        return parse(data, limits)
    except MalformedMail as exc:
        return malformed(str(exc))
    except Exception as exc:  # noqa: BLE001 - the stdlib parser should not raise; if it does, record it
        return malformed(f"parser error: {type(exc).__name__}: {exc}")


def malformed(reason: str, rule: str = NAME) -> Verdict:
    return Verdict(Decision.MALFORMED, rule, reason, Action.DEAD)


def check(mail: ParsedMail, ctx: Context) -> Verdict | None:
    """Parsing already happened in `read`; a ParsedMail always passes."""
    return None
