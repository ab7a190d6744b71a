"""Every page of the staff, administrator and client sides as a person sees it, checked with
axe-core (`Desk.check`): the administration pages, the error page, an edit form."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from services.ticket_store import actions
from services.ticket_store.models import Gateway
from tests.e2e.browser.conftest import Desk, World


def test_administration_pages(world: World, desk, tmp_path: Path) -> None:
    with world.db.unit_of_work() as uow:
        reply = actions.predefined_replies.add_predefined_reply(uow, "Hello", "Hi {client_name}").id
    ann: Desk = desk()
    ann.sign_in(world, "ann")
    page = ann.goto("/admin")
    # A local gateway added through its two-step form.
    page = ann.goto("/admin/gateways/new")
    page.get_by_label("Local: a Maildir on this server").check()
    page = ann.click("form[action='/admin/gateways/new'] button")
    page.get_by_label("Name").fill("Local support")
    page.get_by_label("Maildir path").fill(str(tmp_path / "Maildir"))
    page.locator("input[name=address]").fill("support@company.net")
    page.get_by_label("Department").select_option(label="Technical support")
    page = ann.click("form[action='/admin/gateways'] button[type=submit]")
    assert page.locator("p.notice").count() == 1
    with world.db.transaction() as s:
        gateway = s.scalars(select(Gateway)).one()
        assert (gateway.name, gateway.type, gateway.address) == (
            "Local support",
            "local",
            "support@company.net",
        )
        assert gateway.department_id == world.technical
        gateway_id = gateway.id
    for path in (
        "/admin/gateways",
        f"/admin/gateways/{gateway_id}/delete",
        "/admin/departments",
        f"/admin/departments/{world.technical}",
        "/admin/staff",
        f"/admin/staff/{world.ids['john']}",
        "/admin/clients",
        f"/admin/clients/{world.ids['alice']}",
        "/admin/ratings",
        "/replies",
        f"/replies/{reply}/edit",
    ):
        page = ann.goto(path)
        assert page.locator("main h1").count() == 1, path
    assert set(ann.checked) >= {ann.base + "/admin/ratings", ann.base + "/replies"}


def test_refusals_and_the_clients_forms(world: World, desk) -> None:
    john: Desk = desk()
    john.sign_in(world, "john")
    page = john.goto(f"/tickets/{world.bob_ticket}", status=403)  # Sales is not John's
    assert page.locator("p.error, main").first.is_visible()
    page = john.goto("/admin", status=403)
    bob: Desk = desk()
    bob.sign_in(world, "bob")
    page = bob.goto("/support/new")
    assert page.get_by_label("Department").count() == 1
    page = bob.goto(f"/support/tickets/{world.bob_ticket}")
    assert page.locator("h1").inner_text() == f"#{world.bob_ticket} Invoice question"
    anonymous: Desk = desk()
    page = anonymous.goto("/login?role=staff")
    page.get_by_label("staff").check()
    page.get_by_label("Email").fill("john@company.net")
    page.get_by_label("Password").fill("wrong password")
    page = anonymous.click("form[action='/login'] button[type=submit]")
    assert page.locator("p.error").count() == 1 and page.url.endswith("/login")
