"""Dead letters for administrators: list, inspect, and reprocess one or many after a fix
(`consumer.reprocess` says what reprocessing means for each stage)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BeforeValidator

from services.ticket_store.consumer.reprocess import reprocess
from services.ticket_store.presenters.operations import dead_letter_out
from services.ticket_store.queries.dead_letters import STATUSES, dead_letter, dead_letters
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.common import Pages, Refused, View
from services.ticket_store.web.forms import WebForm, form_number
from services.ticket_store.web.paging import paged

pages = Pages("admin")


class ReprocessForm(WebForm):
    letter_ids: list[Annotated[int | None, BeforeValidator(form_number)]] = []

    @property
    def ids(self) -> list[int]:
        return [i for i in self.letter_ids if i is not None]


def _count(view: View, name: str) -> int:
    text = view.query(name)
    return int(text) if text.isdigit() and len(text) < 7 else 0


@pages.page("/admin/dead-letters")
def dead_letters_page(view: View) -> Response:
    """Dead letters with a ?status= (open by default), newest first, 50 a page."""
    status = view.query("status", "open")
    status = status if status in STATUSES else "open"

    def fetch(offset: int, limit: int) -> list:
        rows = dead_letters(view.session, status, offset, limit)
        return [dead_letter_out(r) for r in rows]

    listing = paged(view.query("page"), "/admin/dead-letters", fetch, status=status)
    return view.render(
        "admin_dead_letters.html",
        status=status,
        statuses=STATUSES,
        reprocessed=_count(view, "reprocessed"),
        unchanged=_count(view, "unchanged"),
        **listing,
    )


@pages.page("/admin/dead-letters/{letter_id:int}")
def dead_letter_page(view: View, letter_id: int) -> Response:
    """One dead letter: the mail, the stage, the reason, and its reprocessing."""
    row = dead_letter(view.session, letter_id)
    if row is None:
        raise Refused(404, "No such dead letter.")
    return view.render("admin_dead_letter.html", d=dead_letter_out(row))


@pages.action("/admin/dead-letters/reprocess", ReprocessForm, dead_letters_page)
def reprocess_letters(uow: UnitOfWork, person: Any, form: ReprocessForm, request: Request) -> str:
    """Reprocess the ticked letters; back to the list with how many changed."""
    if not form.ids:
        raise ValueError("Tick the dead letters to reprocess.")
    results = reprocess(uow, request.app.state.settings, form.ids)
    changed = sum(1 for r in results if r.status in ("reprocessing", "resolved"))
    changed -= sum(1 for r in results if r.message.startswith("already"))
    return (
        f"/admin/dead-letters?status=all&reprocessed={changed}&unchanged={len(results) - changed}"
    )
