"""The mail log for administrators: every mail's outcome, searchable, and each mail's page
with its decision, what it became and its raw source (from `mail.raw` or the blob store)."""

from __future__ import annotations

from datetime import date

from fastapi.responses import Response

from kernel.blobs import BlobStore
from schemas.events import Decision
from services.ticket_store.presenters.operations import dead_letter_out, mail_log_row_out
from services.ticket_store.queries.directory import all_gateways
from services.ticket_store.queries.mail_log import (
    MailLogFilter,
    mail_log,
    mail_story,
    rules_seen,
)
from services.ticket_store.raw_archive import RawArchive, RawSource
from services.ticket_store.web.common import SECURITY_HEADERS, Pages, Refused, View
from services.ticket_store.web.paging import paged

pages = Pages("admin")

SHOWN_BYTES = 256 * 1024  # the page shows this much of the source; the .eml has it all
FILTERS = ("sender", "subject", "gateway", "decision", "rule", "since", "until")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _filter(view: View) -> tuple[MailLogFilter, dict[str, str]]:
    typed = {name: view.query(name).strip()[:200] for name in FILTERS}
    f = MailLogFilter(
        sender=typed["sender"],
        subject=typed["subject"],
        gateway=typed["gateway"],
        decision=typed["decision"],
        rule=typed["rule"],
        since=_date(typed["since"]),
        until=_date(typed["until"]),
    )
    return f, typed


@pages.page("/admin/mail-log")
def mail_log_page(view: View) -> Response:
    """Outcomes newest first, 50 a page, filtered by the search form (?sender=&subject=…)."""
    f, typed = _filter(view)

    def fetch(offset: int, limit: int) -> list:
        return [mail_log_row_out(r) for r in mail_log(view.session, f, offset, limit)]

    listing = paged(view.query("page"), "/admin/mail-log", fetch, **typed)
    return view.render(
        "admin_mail_log.html",
        typed=typed,
        gateways={g.id: g.name for g in all_gateways(view.session)},
        decisions=[d.value for d in Decision],
        rules=rules_seen(view.session),
        **listing,
    )


def _source(view: View, email_id: str) -> tuple[object, RawSource]:
    story = mail_story(view.session, email_id)
    if story is None:
        raise Refused(404, "No mail with this id is in the mail log.")
    if story.source is None:
        return story, RawSource(None, "where this mail is in mail.raw was never recorded")
    settings = view.request.app.state.settings
    archive = RawArchive(settings.kafka_bootstrap, BlobStore(settings.blob_dir))
    s = story.source
    return story, archive.source(s.topic, s.partition, s.offset)


@pages.page("/admin/mail-log/{email_id}")
def mail_page(view: View, email_id: str) -> Response:
    """One mail: decision, rule and reason, the ticket or incoming email it became, its dead
    letters, and its raw source as text (or why the source is gone)."""
    story, source = _source(view, email_id)
    text = ""
    if source.data is not None:
        text = source.data[:SHOWN_BYTES].decode("utf-8", "replace")
    gateways = {g.id: g.name for g in all_gateways(view.session)}
    return view.render(
        "admin_mail.html",
        story=story,
        letters=[dead_letter_out(r) for r in story.dead_letters],  # type: ignore[attr-defined]
        gateways=gateways,
        raw_text=text,
        raw_missing=source.missing,
        truncated=source.data is not None and len(source.data) > SHOWN_BYTES,
    )


@pages.page("/admin/mail-log/{email_id}/raw.eml")
def mail_source(view: View, email_id: str) -> Response:
    """The raw source as it came from the mailbox, to open in a mail program."""
    _, source = _source(view, email_id)
    if source.data is None:
        raise Refused(404, f"The raw source of this mail is not available: {source.missing}.")
    safe_name = "".join(c for c in email_id if c.isalnum() or c in "-_")[:80] or "mail"
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{safe_name}.eml"'
    return Response(source.data, media_type="message/rfc822", headers=headers)
