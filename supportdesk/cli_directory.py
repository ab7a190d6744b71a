"""`supportdesk department|client|incidents|tickets|outcomes|incoming`: the directory and
what the pipeline made of the mail."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import Settings
from supportdesk.cli_common import ADDRESS, ONE_LINE, add_listing, db, print_rows


def cmd_department_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with db(settings).unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(
            uow,
            args.name,
            show_in_support_center=args.show,
            per_incident=args.per_incident,
            insufficient_notice=args.notice or "",
        )
        print(f"department {dep.id}: {dep.name}")
    return 0


def cmd_client_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with db(settings).unit_of_work(actor="cli") as uow:
        client = actions.clients.add_client(uow, args.name, args.email)
        print(f"client {client.id}: {client.name} <{', '.join(args.email)}>")
    return 0


def cmd_incidents_grant(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with db(settings).unit_of_work(actor="cli") as uow:
        actions.clients.grant_incidents(uow, args.client_id, args.amount, reason=args.reason)
    print(f"granted {args.amount} incident(s) to client {args.client_id}")
    return 0


def cmd_outcomes_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.models import MailOutcome

    with db(settings).transaction() as s:
        rows = [
            {
                "email_id": o.email_id,
                "decision": o.decision,
                "rule": o.rule,
                "reason": o.reason,
                "ticket": o.ticket_id or "",
            }
            for o in s.scalars(select(MailOutcome).order_by(MailOutcome.decided_at))
        ]
    print_rows(rows, args.json)
    return 0


# ------------------------------------------------------------------ lists (the presenters' views)


def _departments(s: Session) -> Iterable[BaseModel]:
    from services.ticket_store.presenters import DepartmentOut
    from services.ticket_store.queries.directory import all_departments

    return map(DepartmentOut.model_validate, all_departments(s))


def _clients(s: Session) -> Iterable[BaseModel]:
    from services.ticket_store.presenters import client_out
    from services.ticket_store.queries.directory import find_clients

    return (client_out(s, c) for c in find_clients(s, limit=1_000_000))


def _tickets(s: Session) -> Iterable[BaseModel]:
    from services.ticket_store.presenters import ticket_out
    from services.ticket_store.queries.ticket_lists import all_tickets

    return (ticket_out(s, t) for t in all_tickets(s))


def _incoming(s: Session) -> Iterable[BaseModel]:
    from services.ticket_store.presenters import IncomingOut
    from services.ticket_store.queries.incoming import all_incoming

    return map(IncomingOut.model_validate, all_incoming(s))


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    dep = add("department", lambda a, s: 0, "departments").add_subparsers(dest="d", required=True)
    da = add("add", cmd_department_add, "add a department", dep)
    da.add_argument("name", type=ONE_LINE)
    da.add_argument("--show", action="store_true", help="show in the Support center")
    da.add_argument("--per-incident", action="store_true", help="per-incident (paid) support")
    da.add_argument("--notice", help="text of the insufficient-incidents email")
    add_listing(
        add,
        dep,
        "list departments",
        _departments,
        ("id", "name", "show_in_support_center", "per_incident"),
    )

    cl = add("client", lambda a, s: 0, "clients").add_subparsers(dest="c", required=True)
    ca = add("add", cmd_client_add, "add a client", cl)
    ca.add_argument("name", type=ONE_LINE)
    ca.add_argument("--email", action="append", required=True, type=ADDRESS)
    add_listing(add, cl, "list clients", _clients, ("id", "name", "emails", "incidents_left"))

    inc = add("incidents", lambda a, s: 0, "support incidents").add_subparsers(
        dest="i", required=True
    )
    ig = add("grant", cmd_incidents_grant, "grant (or, negative, take back) incidents", inc)
    ig.add_argument("client_id", type=int)
    ig.add_argument("amount", type=int)
    ig.add_argument("--reason", default="granted by hand")

    tk = add("tickets", lambda a, s: 0, "tickets").add_subparsers(dest="tk", required=True)
    add_listing(
        add,
        tk,
        "list tickets",
        _tickets,
        ("number", "id", "department", "client_name", "status", "subject"),
    )
    oc = add("outcomes", lambda a, s: 0, "mail outcomes").add_subparsers(dest="o", required=True)
    add("list", cmd_outcomes_list, "what became of each mail", oc).add_argument(
        "--json", action="store_true"
    )
    ie = add("incoming", lambda a, s: 0, "incoming emails").add_subparsers(dest="ie", required=True)
    add_listing(
        add,
        ie,
        "unknown senders' mail",
        _incoming,
        ("id", "from_address", "subject", "status", "automatic"),
    )
