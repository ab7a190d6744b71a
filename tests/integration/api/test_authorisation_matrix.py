# ruff: noqa: E501 - the matrix reads best as one row per operation
"""Every operation × who asks: staff in and out of the department, administrator, the
client who owns the ticket and another client, and nobody.

The objects are in Sales: Gary works there, John (Technical only) does not, Ann
is an administrator in no department, Bob owns the ticket, Alice does not. A
refusal must be 401/403/404 and must not carry the object's content; a new
endpoint that is not in the matrix fails the test.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kernel.blobs import BlobStore
from schemas.events import Attachment, MailContent
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions
from services.ticket_store.models import Client, Gateway, Staff, Ticket
from services.ticket_store.models_ticket_requests import RequestState, TicketRequest
from tests.integration.api.conftest import World

WHO = ("anonymous", "john", "gary", "ann", "alice", "bob")
# Text only someone allowed may ever see.
SECRETS = ("Invoice question", "Sales secret reply", "Prices for resellers", "sales note")


def _allowed(kind: str) -> set[str]:
    return {
        "anyone": set(WHO),
        "logged-in": {"john", "gary", "ann", "alice", "bob"},
        "staff": {"john", "gary", "ann"},
        "sales-staff": {"gary"},
        "admin": {"ann"},
        "client": {"alice", "bob"},
        "bob": {"bob"},
        "technical-attachment": {"john", "gary", "alice"},
    }[kind]


def _setup(world: World) -> dict[str, object]:
    blob = BlobStore(world.settings.blob_dir).put(b"price list")
    with world.db.unit_of_work() as uow:
        row = actions.mail_commands.record_incoming(
            uow,
            IncomingEmailEvent(
                email_id="in-sales",
                gateway_id="gw",
                department_id=world.sales,
                content=MailContent(
                    from_address="newcomer@reseller.example",
                    subject="Prices for resellers",
                    text="prices?",
                    attachments=(
                        Attachment(
                            filename="prices.txt", content_type="text/plain", size=10, blob_ref=blob
                        ),
                    ),
                ),
            ),
        )
        uow.session.flush()
        incoming = row.id
        reply = actions.predefined_replies.add_predefined_reply(
            uow, "Sales", "Sales secret reply", scope="department", department_id=world.sales
        ).id
        doomed = actions.predefined_replies.add_predefined_reply(uow, "Doomed", "to be deleted").id
        actions.messages.add_note(
            uow,
            uow.session.get(Staff, world.ids["gary"]),
            uow.session.get(Ticket, world.bob_ticket),
            "sales note",
        )
        bob = uow.session.get(Client, world.ids["bob"])
        actions.clients.add_client_email(uow, bob, "bob.spare@example.org")
        # A staff reply in Bob's ticket, for Bob to rate (quality control).
        answer = actions.messages.staff_reply(
            uow,
            uow.session.get(Staff, world.ids["gary"]),
            uow.session.get(Ticket, world.bob_ticket),
            "Your invoice is attached.",
            message_id_domain=world.settings.message_id_domain,
        ).id
    r = world.post(
        "ann",
        "/admin/gateways",
        {
            "name": "maildir",
            "protocol": "maildir",
            "maildir_path": "/tmp/nowhere",
            "address": "sales@company.net",
            "department_id": world.sales,
        },
    )
    assert r.status_code == 201
    with world.db.transaction() as s:
        gateway = s.scalar(select(Gateway)).id
    with world.db.unit_of_work() as uow:  # Bob's Sales ticket the incident ledger refused
        uow.session.add(TicketRequest(
            id="req-bob", client_id=world.ids["bob"], department_id=world.sales,
            ticket_id="REQBOB0001", subject="Invoice question", text="one more",
            state=RequestState.REFUSED, notice="Top up",
        ))  # fmt: skip
    return {
        "incoming": incoming,
        "reply": reply,
        "doomed": doomed,
        "gateway": gateway,
        "answer": answer,
    }


def _matrix(world: World, o: dict[str, object]) -> list[tuple[str, str, str, str, object]]:
    """(method, OpenAPI path, concrete path, who may, body) in the order they are run."""
    n, b = world.bob_ticket, world.ids["bob"]
    i, rep = o["incoming"], o["reply"]
    return [
        ("GET", "/api/v1/auth/me", "/auth/me", "logged-in", None),
        ("GET", "/api/v1/tickets", "/tickets", "staff", None),
        ("GET", "/api/v1/tickets/{number}", f"/tickets/{n}", "sales-staff", None),
        ("POST", "/api/v1/tickets/{number}/notes", f"/tickets/{n}/notes", "sales-staff", {"text": "n"}),
        ("POST", "/api/v1/tickets/{number}/replies", f"/tickets/{n}/replies", "sales-staff", {"text": "r"}),
        ("POST", "/api/v1/tickets/{number}/replies/with-files", f"/tickets/{n}/replies/with-files", "sales-staff", MULTIPART),
        ("POST", "/api/v1/tickets/{number}/assign", f"/tickets/{n}/assign", "sales-staff", None),
        ("POST", "/api/v1/tickets/{number}/status", f"/tickets/{n}/status", "sales-staff", {"status": "in_progress"}),
        ("GET", "/api/v1/predefined-replies", "/predefined-replies", "staff", None),
        ("GET", "/api/v1/tickets/{number}/predefined-replies", f"/tickets/{n}/predefined-replies", "sales-staff", None),
        ("POST", "/api/v1/tickets/{number}/predefined-replies/{reply_id}/send", f"/tickets/{n}/predefined-replies/{rep}/send", "sales-staff", None),
        ("GET", "/api/v1/incoming-emails", "/incoming-emails", "staff", None),
        ("GET", "/api/v1/incoming-emails/{incoming_id}", f"/incoming-emails/{i}", "sales-staff", None),
        ("GET", "/api/v1/incoming-emails/{incoming_id}/attachments/{index}", f"/incoming-emails/{i}/attachments/0", "sales-staff", None),
        ("POST", "/api/v1/incoming-emails/{incoming_id}/attach", f"/incoming-emails/{i}/attach", "sales-staff", {"ticket_number": n}),
        ("POST", "/api/v1/incoming-emails/{incoming_id}/convert", f"/incoming-emails/{i}/convert", "sales-staff", {}),
        ("POST", "/api/v1/incoming-emails/{incoming_id}/spam", f"/incoming-emails/{i}/spam", "sales-staff", None),
        ("POST", "/api/v1/incoming-emails/{incoming_id}/delete", f"/incoming-emails/{i}/delete", "sales-staff", None),
        ("GET", "/api/v1/attachments/{attachment_id}", f"/attachments/{world.attachment}", "technical-attachment", None),
        ("GET", "/api/v1/client/departments", "/client/departments", "client", None),
        ("GET", "/api/v1/client/ticket-requests/{request_id}", "/client/ticket-requests/req-bob", "bob", None),
        ("GET", "/api/v1/client/tickets", "/client/tickets", "client", None),
        ("POST", "/api/v1/client/tickets", "/client/tickets", "client", {"department_id": world.technical, "subject": "s", "text": "t"}),
        ("GET", "/api/v1/client/tickets/{number}", f"/client/tickets/{n}", "bob", None),
        ("POST", "/api/v1/client/tickets/{number}/messages", f"/client/tickets/{n}/messages", "bob", {"text": "more"}),
        ("POST", "/api/v1/client/tickets/{number}/messages/with-files", f"/client/tickets/{n}/messages/with-files", "bob", MULTIPART),
        ("POST", "/api/v1/client/tickets/{number}/messages/{message_id}/rating", f"/client/tickets/{n}/messages/{o['answer']}/rating", "bob", {"score": 4, "comment": "quick"}),
        ("POST", "/api/v1/client/tickets/{number}/close", f"/client/tickets/{n}/close", "bob", None),
        ("POST", "/api/v1/tickets/{number}/close", f"/tickets/{n}/close", "sales-staff", None),
        ("GET", "/api/v1/admin/departments", "/admin/departments", "admin", None),
        ("POST", "/api/v1/admin/departments", "/admin/departments", "admin", {"name": "New"}),
        ("PATCH", "/api/v1/admin/departments/{department_id}", f"/admin/departments/{world.sales}", "admin", {"name": "Sales"}),
        ("GET", "/api/v1/admin/staff", "/admin/staff", "admin", None),
        ("POST", "/api/v1/admin/staff", "/admin/staff", "admin", {"name": "S", "email": "s@company.net", "password": "long enough"}),
        ("GET", "/api/v1/admin/staff/{staff_id}", f"/admin/staff/{world.ids['john']}", "admin", None),
        ("PATCH", "/api/v1/admin/staff/{staff_id}", f"/admin/staff/{world.ids['john']}", "admin", {"name": "John Smith"}),
        ("GET", "/api/v1/admin/clients", "/admin/clients", "admin", None),
        ("POST", "/api/v1/admin/clients", "/admin/clients", "admin", {"name": "C", "emails": ["c@example.com"]}),
        ("GET", "/api/v1/admin/clients/{client_id}", f"/admin/clients/{b}", "admin", None),
        ("PATCH", "/api/v1/admin/clients/{client_id}", f"/admin/clients/{b}", "admin", {"comment": "vip"}),
        ("POST", "/api/v1/admin/clients/{client_id}/emails", f"/admin/clients/{b}/emails", "admin", {"email": "bob3@example.org"}),
        ("DELETE", "/api/v1/admin/clients/{client_id}/emails/{email}", f"/admin/clients/{b}/emails/bob.spare@example.org", "admin", None),
        ("GET", "/api/v1/admin/clients/{client_id}/incidents", f"/admin/clients/{b}/incidents", "admin", None),
        ("POST", "/api/v1/admin/clients/{client_id}/incidents", f"/admin/clients/{b}/incidents", "admin", {"amount": 1}),
        ("GET", "/api/v1/admin/gateways", "/admin/gateways", "admin", None),
        ("GET", "/api/v1/admin/gateways/{gateway_id}", f"/admin/gateways/{o['gateway']}", "admin", None),
        ("POST", "/api/v1/admin/gateways", "/admin/gateways", "admin", {"name": "g2", "protocol": "maildir", "maildir_path": "/tmp/x", "address": "a@company.net", "department_id": world.sales}),
        ("PATCH", "/api/v1/admin/gateways/{gateway_id}", f"/admin/gateways/{o['gateway']}", "admin", {"enabled": False}),
        ("DELETE", "/api/v1/admin/gateways/{gateway_id}", f"/admin/gateways/{o['gateway']}", "admin", None),
        ("GET", "/api/v1/admin/predefined-replies", "/admin/predefined-replies", "admin", None),
        ("POST", "/api/v1/admin/predefined-replies", "/admin/predefined-replies", "admin", {"title": "t", "text": "t"}),
        ("PATCH", "/api/v1/admin/predefined-replies/{reply_id}", f"/admin/predefined-replies/{rep}", "admin", {"title": "Sales"}),
        ("DELETE", "/api/v1/admin/predefined-replies/{reply_id}", f"/admin/predefined-replies/{o['doomed']}", "admin", None),
        ("GET", "/api/v1/admin/audit", "/admin/audit", "admin", None),
        ("GET", "/api/v1/admin/ratings", "/admin/ratings", "admin", None),
        ("POST", "/api/v1/auth/logout", "/auth/logout", "logged-in", None),
    ]  # fmt: skip


PUBLIC = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/tokens")}
# A multipart form body (file uploads), where the others send JSON.
MULTIPART = {"data": {"text": "with a file"}, "files": [("files", ("a.txt", b"a", "text/plain"))]}


def _body(body: object) -> dict[str, object]:
    if body is MULTIPART:
        return dict(MULTIPART)
    return {"json": body} if body is not None else {}


def test_every_operation_for_everyone(world: World) -> None:
    objects = _setup(world)
    matrix = _matrix(world, objects)
    documented = {
        (method.upper(), path)
        for path, ops in world.app.app.openapi()["paths"].items()
        for method in ops
    }
    covered = {(m, p) for m, p, *_ in matrix}
    assert documented - PUBLIC == covered, "every operation is in the authorisation matrix"

    failures = []
    for method, _, path, kind, body in matrix:
        allowed = _allowed(kind)
        # Refused callers first, so an allowed write cannot change what they would see.
        for who in sorted(set(WHO) - allowed) + sorted(allowed):
            kwargs = _body(body)
            r = world.app.request(
                method,
                f"/api/v1{path}",
                headers=world.as_(None if who == "anonymous" else who),
                **kwargs,
            )
            if who in allowed:
                if r.status_code in (401, 403, 404) or r.status_code >= 500:
                    failures.append(f"{who} {method} {path}: {r.status_code} {r.text[:120]}")
            else:
                expected = {401} if who == "anonymous" else {403, 404}
                if r.status_code not in expected:
                    failures.append(f"{who} {method} {path}: {r.status_code}, not {expected}")
                leaked = [x for x in SECRETS if x in r.text]
                if leaked or "detail" not in r.json():
                    failures.append(f"{who} {method} {path}: leaked {leaked} in {r.text[:120]}")
    assert failures == []


def test_lists_show_nothing_of_other_departments_or_clients(world: World) -> None:
    _setup(world)
    for who, path in (
        ("john", "/tickets"),
        ("john", "/incoming-emails"),
        ("john", "/predefined-replies"),
        ("john", f"/tickets/{world.alice_ticket}/predefined-replies"),
        ("john", "/tickets?q=Invoice"),
        ("alice", "/client/tickets"),
        ("ann", "/tickets"),
        ("ann", "/incoming-emails"),
    ):
        r = world.get(who, path)
        assert r.status_code == 200, (who, path, r.text)
        assert not [x for x in SECRETS if x in r.text], (who, path, r.text)
    # … while the right people do see them.
    assert "Invoice question" in world.get("gary", "/tickets").text
    assert "Invoice question" in world.get("bob", "/client/tickets").text
    assert "sales note" not in world.get("bob", f"/client/tickets/{world.bob_ticket}").text


# ------------------------------------------------------------------ operations pages (web)


def test_operations_pages_are_for_administrators_only(world: World, tmp_path: Path) -> None:
    """The mail log, a mail's page and source, dead letters (list, one, reprocess), gateway
    health and replay (the form, a run, a report, applying it): Ann only. Anonymous goes to the login page, everyone else gets 403, and no
    refusal shows the mail's subject."""
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from schemas.events import DeadLetter, Decision, Outcome
    from schemas.replay import ReplaySelection
    from services.ticket_store.actions import operations
    from tests.integration.web.conftest import csrf_of, log_in
    from tests.integration.web.replay_page import canned_report, install_canned_runner

    # Replay: a canned runner, and a kept dry run to show and apply.
    runs = install_canned_runner(world.app.app, tmp_path)
    kept = canned_report(ReplaySelection(), False, "staff:0")
    (tmp_path / "replays").mkdir()
    (tmp_path / "replays" / f"replay-{kept.replay_id}.json").write_text(kept.model_dump_json())
    with world.db.unit_of_work() as uow:
        operations.record_sources(uow, [operations.RawLocation(
            email_id="e-ops", gateway_id="gw", from_address="newcomer@reseller.example",
            subject="Prices for resellers", size=10, blob_ref=None, topic="mail.raw",
            partition=0, offset=0, fetched_at=datetime.now(UTC),
        )])  # fmt: skip
        actions.mail_commands.record_outcome(uow, Outcome(
            email_id="e-ops", gateway_id="gw", decision=Decision.INCOMING, rule="client",
        ))  # fmt: skip
        letter = operations.record_dead_letter(uow, DeadLetter(
            email_id="grant-x", stage="router.incidents", reason="Prices for resellers",
        ))  # fmt: skip
        uow.flush()
        letter_id = letter.id
    pages = [
        ("GET", "/admin/mail-log"),
        ("GET", "/admin/mail-log/e-ops"),
        ("GET", "/admin/mail-log/e-ops/raw.eml"),
        ("GET", "/admin/dead-letters"),
        ("GET", f"/admin/dead-letters/{letter_id}"),
        ("POST", "/admin/dead-letters/reprocess"),
        ("GET", "/admin/gateway-health"),
        ("GET", "/admin/replay"),
        ("POST", "/admin/replay"),
        ("GET", f"/admin/replay/{kept.replay_id}"),
        ("GET", f"/admin/replay/{kept.replay_id}/apply"),
        ("POST", f"/admin/replay/{kept.replay_id}/apply"),
    ]
    browsers = {who: log_in(world, who) for who in WHO if who != "anonymous"}
    browsers["anonymous"] = TestClient(world.app.app, follow_redirects=False)
    home = {"john": "/tickets", "gary": "/tickets", "ann": "/tickets", "alice": "/support",
            "bob": "/support"}  # fmt: skip
    tokens = {who: csrf_of(browsers[who].get(page).text) for who, page in home.items()}
    failures = []
    for method, path in pages:
        for who in sorted(WHO):
            b = browsers[who]
            own = tokens.get(who, "")
            r = (
                b.post(path, data={"csrf_token": own, "letter_ids": [str(letter_id)]})
                if method == "POST"
                else b.get(path)
            )
            if who == "ann":
                refused = r.status_code in (401, 403) or r.headers.get("location") == "/login"
                if path.endswith("raw.eml"):  # past the check: the bytes are not reachable here
                    refused = refused or "raw source of this mail is not available" not in r.text
                if refused or r.status_code >= 500:
                    failures.append(f"ann {method} {path}: {r.status_code} {r.text[:120]}")
                continue
            expected = (303,) if who == "anonymous" else (403,)
            if r.status_code not in expected or (
                who == "anonymous" and r.headers.get("location") != "/login"
            ):
                failures.append(f"{who} {method} {path}: {r.status_code}, not {expected}")
            if "Prices for resellers" in r.text or "Printer on fire" in r.text:
                failures.append(f"{who} {method} {path}: leaked the subject")
    assert failures == []
    # Only Ann's dry run and apply ran a replay, in her name.
    assert [(apply, actor) for _, apply, actor in runs] == [
        (False, f"staff:{world.ids['ann']}"),
        (True, f"staff:{world.ids['ann']}"),
    ]


# ------------------------------------------------------------------ gateway OAuth2 pages (web)


def test_gateway_oauth2_pages_are_for_administrators_only(world: World) -> None:
    """A gateway's OAuth2 page, its connect form and the provider's callback: Ann only.
    Anonymous goes to the login page, everyone else gets 403."""
    from fastapi.testclient import TestClient

    from tests.integration.web.conftest import csrf_of, log_in

    o = _setup(world)
    gw = o["gateway"]
    pages = [
        ("GET", f"/admin/gateways/{gw}/oauth2"),
        ("POST", f"/admin/gateways/{gw}/oauth2"),
        ("GET", "/admin/oauth2/callback?code=c&state=s"),
    ]
    browsers = {who: log_in(world, who) for who in WHO if who != "anonymous"}
    browsers["anonymous"] = TestClient(world.app.app, follow_redirects=False)
    home = {"john": "/tickets", "gary": "/tickets", "ann": "/tickets", "alice": "/support",
            "bob": "/support"}  # fmt: skip
    tokens = {who: csrf_of(browsers[who].get(page).text) for who, page in home.items()}
    form = {"provider": "generic", "client_id": "app", "token_url": "https://idp.example/token",
            "authorization_url": "https://idp.example/authorize", "scope": "mail"}  # fmt: skip
    failures = []
    for method, path in pages:
        for who in sorted(WHO):
            b = browsers[who]
            if method == "POST":
                r = b.post(path, data={"csrf_token": tokens.get(who, ""), **form})
            else:
                r = b.get(path)
            if who == "ann":
                # Past the check: the page, the form (refused: a Maildir gateway has no
                # OAuth2) and the callback (refused: no such sign-in) all answer for Ann.
                if r.status_code in (401, 403) or r.status_code >= 500:
                    failures.append(f"ann {method} {path}: {r.status_code} {r.text[:120]}")
                continue
            expected = (303,) if who == "anonymous" else (403,)
            if r.status_code not in expected or (
                who == "anonymous" and r.headers.get("location") != "/login"
            ):
                failures.append(f"{who} {method} {path}: {r.status_code}")
    assert not failures, failures
