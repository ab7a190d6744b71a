"""The Replay page on real parts: a mistyped gateway's mail (ignored_recipient), the gateway
fixed, a dry run from the page (the matrix and the changed mails; nothing touched), applying
it after the confirmation (the tickets opened, the audit entry in the administrator's name),
and a staff member who is no administrator refused.

Real broker, router and store processes, SQLite; the page in-process with the runner that
`supportdesk web` hands it (`supportdesk.cli_replay.page_runner`). Then, on the web tests'
seed world, what the page says when a run cannot happen.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.router.replay.reading import read_gateways
from services.ticket_store import actions, auth
from services.ticket_store.db import Database
from services.ticket_store.http import create_app
from services.ticket_store.http.sessions import SESSION_COOKIE
from services.ticket_store.models import AuditEntry, MailOutcome, Staff, Ticket
from supportdesk.cli_replay import page_runner
from tests.fixtures.pipeline import Pipeline, wait_until
from tests.integration.replay.helpers import end_offsets, mail, publish_raw, raw, row_counts
from tests.integration.web.conftest import World, csrf_of, log_in
from tests.integration.web.replay_page import install_canned_runner

WRONG, RIGHT = "supprot@company.net", "support@company.net"


def _browser(app: object, db: Database, staff_id: int) -> TestClient:
    """A logged-in browser: a session made in the database (the login form has its tests)."""
    with db.unit_of_work() as uow:
        secret, _row = auth.issue(uow.session, staff=uow.session.get(Staff, staff_id))
    browser = TestClient(app, follow_redirects=False)
    browser.cookies.set(SESSION_COOKIE, secret)
    return browser


def _decisions(db: Database) -> list[str]:
    with db.transaction() as s:
        return sorted(o.decision for o in s.scalars(select(MailOutcome)))


def test_replay_page_dry_run_then_apply(pipeline: Pipeline, tmp_path: Path) -> None:
    settings = pipeline.settings
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        gw = actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir",
            maildir_path=str(tmp_path / "maildir"), address=WRONG, department_id=dep.id,
        )  # fmt: skip
        ann = actions.staff.add_staff(uow, "Ann", "ann@company.net", "", is_admin=True)
        john = actions.staff.add_staff(uow, "John", "john@company.net", "",
                                       department_ids=[dep.id])  # fmt: skip
        dep_id, gw_id, ann_id, john_id = dep.id, gw.id, ann.id, john.id
    pipeline.start("store")
    pipeline.start("router")
    raws = [raw(gw_id, WRONG, dep_id, mail("Alice <alice@example.org>", RIGHT, f"VPS {i} down"))
            for i in range(2)]  # fmt: skip
    publish_raw(settings, raws)
    wait_until(lambda: _decisions(db) == ["ignored_recipient"] * 2, 90, "two outcomes")
    with db.unit_of_work(actor="cli") as uow:
        actions.gateways.edit_gateway(uow, "support", address=RIGHT)
    wait_until(lambda: read_gateways(settings)[gw_id].address == RIGHT, 60, "the fixed gateway")

    app = create_app(settings, db, replay_runner=page_runner(settings, wait_s=60))
    kept = settings.var_dir / "replays"

    # A staff member who is no administrator: refused, and nothing runs.
    john_b = _browser(app, db, john_id)
    token = csrf_of(john_b.get("/tickets").text)
    assert john_b.get("/admin/replay").status_code == 403
    r = john_b.post("/admin/replay", data={"csrf_token": token, "gateway_ids": gw_id})
    assert r.status_code == 403 and not list(kept.glob("replay-*"))

    # The dry run: the matrix and the changed mails shown; no row, no record written.
    ann_b = _browser(app, db, ann_id)
    rows, offsets = row_counts(db), end_offsets(settings)
    form = ann_b.get("/admin/replay")
    assert form.status_code == 200 and "No replay reports yet." in form.text
    r = ann_b.post("/admin/replay", data={"csrf_token": csrf_of(form.text), "gateway_ids": gw_id,
                                          "decisions": "ignored_recipient"})  # fmt: skip
    assert r.status_code == 303, r.text
    report = ann_b.get(r.headers["location"])
    dry_id = r.headers["location"].rsplit("/", 1)[1]
    assert "<td>ignored_recipient</td><td>ticket_opened</td><td>2</td>" in report.text
    assert report.text.count('<tr class="changed">') == 2
    assert "VPS 0 down" in report.text and "VPS 1 down" in report.text
    assert f'href="/admin/replay/{dry_id}/apply"' in report.text
    time.sleep(1)  # anything a dry run had produced would have reached the store by now
    assert row_counts(db) == rows and end_offsets(settings) == offsets
    listed = ann_b.get("/admin/replay").text
    assert f'href="/admin/replay/{dry_id}"' in listed and "dry-run" in listed
    assert sorted(p.suffix for p in kept.iterdir()) == [".csv", ".html", ".json"]

    # Apply, after the confirmation: two tickets, the audit entry names Ann.
    confirm = ann_b.get(f"/admin/replay/{dry_id}/apply")
    assert "2 mail(s)" in confirm.text and "2 become ticket_opened" in confirm.text
    r = ann_b.post(f"/admin/replay/{dry_id}/apply",
                   data={"csrf_token": csrf_of(confirm.text), "confirm": "yes"})  # fmt: skip
    assert r.status_code == 303, r.text
    applied = ann_b.get(r.headers["location"]).text
    assert '<th scope="row">Outcomes confirmed</th><td>2</td>' in applied
    assert "Apply this replay" not in applied  # an applied report is not applied again
    wait_until(lambda: _decisions(db) == ["ticket_opened"] * 2, 60, "the replayed outcomes")
    with db.transaction() as s:
        assert sorted(t.subject for t in s.scalars(select(Ticket))) == ["VPS 0 down",
                                                                          "VPS 1 down"]  # fmt: skip
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "replay.apply")).all()
        assert entry.actor == f"staff:{ann_id}"
        assert entry.details["applied"]["confirmed"] == 2
        assert sorted(entry.details["selection"]["email_ids"]) == sorted(r.email_id for r in raws)
        assert entry.details["selection"]["gateways"] == [gw_id]
    pipeline.assert_running()
    db.dispose()


def test_replay_page_says_why_a_run_did_not_happen(world: World, tmp_path: Path) -> None:
    """A bad selection: the form again with the reason and what was typed; no runner (an app
    not built by `supportdesk web`), a runner that fails, an unknown report: said as such."""
    runs = install_canned_runner(world.app.app, tmp_path)
    ann = log_in(world, "ann")
    token = csrf_of(ann.get("/admin/replay").text)
    r = ann.post("/admin/replay", data={"csrf_token": token, "since": "last week",
                                        "email_ids": "e-typed"})  # fmt: skip
    assert r.status_code == 422 and "YYYY-MM-DD HH:MM" in r.text and "e-typed" in r.text
    assert runs == []

    def broken(*_: object) -> None:
        raise RuntimeError("no broker at kafka:9092")

    world.app.app.state.replay_runner = broken
    r = ann.post("/admin/replay", data={"csrf_token": token})
    assert r.status_code == 502 and "no broker at kafka:9092" in r.text
    world.app.app.state.replay_runner = None
    r = ann.post("/admin/replay", data={"csrf_token": token})
    assert r.status_code == 503 and "supportdesk web" in r.text
    assert ann.get("/admin/replay/nope").status_code == 404
    assert ann.get("/admin/replay/..%2Fsecret").status_code == 404
