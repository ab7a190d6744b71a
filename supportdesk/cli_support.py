"""`supportdesk staff|reply|web …`: staff, pre-defined replies, and the web API.

Same actions as the API, so scripted set-up (and `make run`'s demo data)
gets the same checks and the same audit entries.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable, Iterable

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kernel.config import Settings
from supportdesk.cli_common import ADDRESS, ONE_LINE, TEXT, add_listing, db


def _password(prompt: str) -> str:
    """From SUPPORTDESK_STAFF_PASSWORD (scripts) or a prompt; never a command-line argument."""
    return os.environ.get("SUPPORTDESK_STAFF_PASSWORD") or getpass.getpass(prompt)


# ------------------------------------------------------------------ staff


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    password = _password(f"password for {args.email}: ")
    with db(settings).unit_of_work(actor="cli") as uow:
        staff = actions.staff.add_staff(
            uow,
            args.name,
            args.email,
            password,
            is_admin=args.admin,
            department_ids=args.department_id or [],
        )
        deps = ", ".join(d.name for d in staff.departments) or "no department"
        print(f"staff {staff.id}: {staff.name} <{staff.email}> ({deps})")
    return 0


def cmd_staff_set(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with db(settings).unit_of_work(actor="cli") as uow:
        staff = actions.staff.update_staff(
            uow,
            args.staff_id,
            active=args.active,
            is_admin=args.admin,
            department_ids=args.department_id,
            password=_password("new password: ") if args.password else None,
        )
        deps = ", ".join(d.name for d in staff.departments) or "no department"
        print(
            f"staff {staff.id}: {staff.name}, active={staff.active}, "
            f"admin={staff.is_admin} ({deps})"
        )
    return 0


# ------------------------------------------------------------------ pre-defined replies


def cmd_reply_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with db(settings).unit_of_work(actor="cli") as uow:
        reply = actions.predefined_replies.add_predefined_reply(
            uow,
            args.title,
            args.text,
            scope=args.scope,
            department_id=args.department_id,
            staff_id=args.staff_id,
        )
        print(f"pre-defined reply {reply.id}: {reply.title} ({reply.scope})")
    return 0


def cmd_reply_remove(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with db(settings).unit_of_work(actor="cli") as uow:
        actions.predefined_replies.delete_predefined_reply(uow, args.reply_id)
    print(f"pre-defined reply {args.reply_id} removed")
    return 0


# ------------------------------------------------------------------ processes


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from kernel import health
    from services.ticket_store.http import create_app
    from supportdesk.cli_replay import page_runner

    app = create_app(settings, secure_cookies=args.secure_cookies,
                     replay_runner=page_runner(settings))  # fmt: skip
    health.set_state("running")
    health.serve(settings.health_port)  # /metrics (HTTP requests) and /health on 127.0.0.1
    print(f"API on http://{args.host}:{args.port}/api/v1 (OpenAPI at /docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


def _staff(s: Session) -> Iterable[BaseModel]:
    from services.ticket_store.presenters import staff_out
    from services.ticket_store.queries.directory import all_staff

    return map(staff_out, all_staff(s))


def _replies(s: Session) -> Iterable[BaseModel]:
    from services.ticket_store.presenters import reply_out
    from services.ticket_store.queries.directory import all_replies

    return map(reply_out, all_replies(s))


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    st = add("staff", lambda a, s: 0, "staff members", sub).add_subparsers(dest="st", required=True)
    sa = add(
        "add",
        cmd_staff_add,
        "add a staff member (password: SUPPORTDESK_STAFF_PASSWORD or a prompt)",
        st,
    )
    sa.add_argument("name", type=ONE_LINE)
    sa.add_argument("--email", required=True, type=ADDRESS)
    sa.add_argument("--department-id", type=int, action="append", help="repeat for several")
    sa.add_argument("--admin", action="store_true", help="administrator")
    add_listing(
        add,
        st,
        "list staff",
        _staff,
        ("id", "name", "email", "is_admin", "active", "department_ids"),
    )
    ss = add("set", cmd_staff_set, "change a staff member", st)
    ss.add_argument("staff_id", type=int)
    ss.add_argument(
        "--department-id", type=int, action="append", help="the departments, replacing the old"
    )
    ss.add_argument("--active", action=argparse.BooleanOptionalAction, default=None)
    ss.add_argument("--admin", action=argparse.BooleanOptionalAction, default=None)
    ss.add_argument("--password", action="store_true", help="set a new password")

    rp = add("reply", lambda a, s: 0, "pre-defined replies", sub).add_subparsers(
        dest="rp", required=True
    )
    ra = add("add", cmd_reply_add, "add a pre-defined reply", rp)
    ra.add_argument("--title", required=True, type=ONE_LINE)
    ra.add_argument(
        "--text",
        required=True,
        type=TEXT,
        help="placeholders: {client_name} {ticket_number} {ticket_subject} "
        "{staff_name} {department} {client_email}",
    )
    ra.add_argument("--scope", choices=["all", "department", "staff"], default="all")
    ra.add_argument("--department-id", type=int)
    ra.add_argument("--staff-id", type=int)
    add_listing(
        add,
        rp,
        "list pre-defined replies",
        _replies,
        ("id", "title", "scope", "department_id", "staff_id", "text"),
    )
    add("remove", cmd_reply_remove, "remove a pre-defined reply", rp).add_argument(
        "reply_id", type=int
    )

    web = add("web", cmd_web, "serve the API (OpenAPI at /docs)", sub)
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--secure-cookies", action="store_true", help="behind HTTPS")
