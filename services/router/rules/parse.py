"""Rule 1, parse: any bytes in, a decision out.

`read` turns bytes into a ParsedMail (or a malformed verdict). Mail without a
usable From still passes: bounces often have none (``From: MAILER-DAEMON <>``)
and the automatic rule must see them; other such mail ends in Incoming.
"""

from __future__ import annotations

from schemas.events import Decision
from services.router.mail import MalformedMail, ParsedMail, parse
from services.router.rules.base import Action, Context, Verdict

NAME = "parse"


def read(data: bytes) -> ParsedMail | Verdict:
    try:
        return parse(data)
    except MalformedMail as exc:
        return malformed(str(exc))
    except Exception as exc:  # noqa: BLE001 - the stdlib parser should not raise; if it does, record it
        return malformed(f"parser error: {type(exc).__name__}: {exc}")


def malformed(reason: str, rule: str = NAME) -> Verdict:
    return Verdict(Decision.MALFORMED, rule, reason, Action.DEAD)


def check(mail: ParsedMail, ctx: Context) -> Verdict | None:
    """Parsing already happened in `read`; a ParsedMail always passes."""
    return None
