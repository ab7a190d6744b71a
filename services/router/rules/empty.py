"""Rule 4, empty: no text in any body part and no attachments -> ignored.

HTML is reduced to text first, so a body of tags and &nbsp; is empty; the
subject does not count as content.
"""

from __future__ import annotations

from schemas.events import Decision
from services.router.mail import HTML_SCAN, ParsedMail, html_to_text, is_blank
from services.router.rules.base import Context, Verdict

NAME = "empty"


def check(mail: ParsedMail, ctx: Context) -> Verdict | None:
    if mail.attachments:
        return None
    if not is_blank(mail.text) or len(mail.html) > HTML_SCAN:  # a huge HTML body is content
        return None
    if not is_blank(html_to_text(mail.html)):
        return None
    return Verdict(Decision.IGNORED_EMPTY, NAME, "no text and no attachments")
