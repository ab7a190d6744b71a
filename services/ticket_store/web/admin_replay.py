"""Replay for administrators: a dry run for a selection, its report, and applying it.

The store may not import the router, so the composition root hands `create_app` a
`ReplayRunner` (`supportdesk.cli_replay.page_runner`: `run_replay`, its report kept
under `<var>/replays/` as the command keeps it). The page lists the reports kept there,
the command's included. A run happens within the request but outside any transaction:
a dry run reads topics for seconds, and apply waits for the router's outcomes.
Applying re-processes exactly the mails the dry run listed as `apply`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import AfterValidator, BeforeValidator, Field

from schemas.events import Decision
from schemas.replay import NO_OUTCOME, ReplayReport, ReplaySelection
from schemas.replay_html import render_body
from services.ticket_store.http import sessions
from services.ticket_store.queries.directory import all_gateways
from services.ticket_store.web.common import Page, Pages, Refused, View, check_csrf, need
from services.ticket_store.web.forms import Posted, WebForm, lines, posted, strip

log = logging.getLogger(__name__)

# (selection, apply, actor) -> the report, kept under <var>/replays/ as replay-<id>.json
ReplayRunner = Callable[[ReplaySelection, bool, str], ReplayReport]

DECISIONS = (*(d.value for d in Decision), NO_OUTCOME)
REPORT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LISTED = 50  # kept reports shown, newest first
MAX_EMAILS = 10_000

pages = Pages("admin")


def _moment(value: object) -> datetime | None:
    """A form's datetime-local (or an ISO date/time), UTC unless it says otherwise."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Give the times as YYYY-MM-DD HH:MM (UTC).") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _email_ids(value: str) -> str:
    ids = lines(value)
    if len(ids) > MAX_EMAILS or any(len(i) > 200 for i in ids):
        raise ValueError(f"Give at most {MAX_EMAILS} email ids, one per line.")
    return value


def _known(values: list[str]) -> list[str]:
    if any(v not in DECISIONS for v in values):
        raise ValueError("Choose recorded decisions from the list.")
    return values


class ReplayForm(WebForm):
    since: Annotated[datetime | None, BeforeValidator(_moment)] = None
    until: Annotated[datetime | None, BeforeValidator(_moment)] = None
    gateway_ids: list[Annotated[str, BeforeValidator(strip), Field(max_length=200)]] = []
    email_ids: Annotated[str, AfterValidator(_email_ids)] = ""
    decisions: Annotated[list[str], AfterValidator(_known)] = []

    def selection(self) -> ReplaySelection:
        if self.since and self.until and self.since >= self.until:
            raise ValueError("The start of the time range must come before its end.")
        return ReplaySelection(
            since=self.since, until=self.until,
            gateways=tuple(g for g in self.gateway_ids if g),
            email_ids=tuple(dict.fromkeys(lines(self.email_ids))),
            decisions=tuple(self.decisions),
        )  # fmt: skip


# ------------------------------------------------------------------ kept reports


def _folder(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir) / "replays"


def kept_reports(folder: Path, limit: int = LISTED) -> list[ReplayReport]:
    """The newest reports kept in `folder` (unreadable ones are logged and left out)."""
    paths = sorted(folder.glob("replay-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    found = []
    for path in paths[:limit]:
        try:
            found.append(ReplayReport.model_validate_json(path.read_bytes()))
        except (OSError, ValueError):
            log.warning("replay report %s cannot be read", path)
    return found


def kept_report(folder: Path, replay_id: str) -> ReplayReport:
    path = folder / f"replay-{replay_id}.json"
    if not REPORT_ID.match(replay_id) or not path.is_file():
        raise Refused(404, "No such replay report.")
    return ReplayReport.model_validate_json(path.read_bytes())


def to_apply(report: ReplayReport) -> list[str]:
    """The mails a dry run would change: what applying it re-processes."""
    if report.mode != "dry-run":
        return []
    return [row.email_id for row in report.changed if row.action == "apply"]


# ------------------------------------------------------------------ pages


@pages.page("/admin/replay")
def replay_page(view: View) -> Response:
    """The selection form, and the kept reports newest first."""
    gateways = {g.id: g.name for g in all_gateways(view.session)}
    form = view.form or {}
    return view.render(
        "admin_replay.html",
        reports=kept_reports(_folder(view.request)),
        gateways=gateways,
        decisions=DECISIONS,
        typed={name: form.get(name) or "" for name in ("since", "until", "email_ids")},
        chosen={
            "gateway_ids": form.get("gateway_ids") or [],
            "decisions": form.get("decisions") or [],
        },
        runnable=getattr(view.request.app.state, "replay_runner", None) is not None,
    )


@pages.page("/admin/replay/{replay_id}")
def report_page(view: View, replay_id: str) -> Response:
    """One kept report: the summary, the matrix, the changed and the gone mails."""
    report = kept_report(_folder(view.request), replay_id)
    return view.render(
        "admin_replay_report.html", r=report, body=Markup(render_body(report)),
        to_apply=len(to_apply(report)),
    )  # fmt: skip


@pages.page("/admin/replay/{replay_id}/apply")
def confirm_page(view: View, replay_id: str) -> Response:
    """Are you sure? A dry run is applied only from this page's 'Yes, apply'."""
    report = kept_report(_folder(view.request), replay_id)
    ids = set(to_apply(report))
    if not ids:
        raise Refused(409, "This replay has nothing to apply.")
    new: dict[str, int] = {}
    for row in report.changed:
        if row.email_id in ids:
            new[row.new_decision] = new.get(row.new_decision, 0) + 1
    return view.render("admin_replay_apply.html", r=report, count=len(ids), new=new)


# ------------------------------------------------------------------ runs


def _run(
    request: Request,
    form: Posted[Any],
    selection: Callable[[], ReplaySelection],
    apply: bool,
    page: Page,
    page_kw: dict[str, Any],
) -> Response:
    """Login, admin and CSRF checks in a short transaction; then the run, outside it (it
    takes seconds, and apply writes its audit entry in a transaction of its own)."""
    db = request.app.state.db
    with db.transaction() as s:
        who = need(request, s, "admin")
        check_csrf(who, form)
        actor = sessions.actor(who.principal)
    runner: ReplayRunner | None = getattr(request.app.state, "replay_runner", None)
    try:
        if runner is None:
            status, message = 503, "Replay is not available here: `supportdesk web` runs it."
        else:
            report = runner(selection(), apply, actor)
            return RedirectResponse(f"/admin/replay/{report.replay_id}", status_code=303)
    except ValueError as exc:
        status, message = 422, str(exc)
    except Exception as exc:  # the broker, a topic, the router: said on the page, logged
        log.exception("replay from the console failed")
        status, message = 502, f"The replay could not run: {exc}"[:500]
    with db.transaction() as s:
        view = View(request, s, need(request, s, "admin"), form.shown(), message, status)
        return page(view, **page_kw)


@pages.router.post("/admin/replay", name="run_replay")
def run_dry(request: Request, form: Posted[Any] = posted(ReplayForm)) -> Response:
    """A dry run for the selection; to its report."""
    return _run(request, form, lambda: form.valid().selection(), False, replay_page, {})


@pages.router.post("/admin/replay/{replay_id}/apply", name="apply_replay")
def run_apply(replay_id: str, request: Request, form: Posted[Any] = posted(WebForm)) -> Response:
    """Apply a dry run: its `apply` mails re-processed for real; to the applied report."""
    with request.app.state.db.transaction() as s:
        need(request, s, "admin")  # who asks, before anything is said about the report
    report = kept_report(_folder(request), replay_id)

    def selection() -> ReplaySelection:
        ids = to_apply(report)
        if not ids:
            raise ValueError("This replay has nothing to apply.")
        return report.selection.model_copy(update={"email_ids": tuple(ids)})

    return _run(request, form, selection, True, report_page, {"replay_id": replay_id})
