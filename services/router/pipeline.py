"""The rules in the documented order, and what each decision puts on which topic.

`Router.handle_raw` runs rules 1-6 on one `mail.raw` record; a new ticket for
a known client leaves as a ChargeRequest to the ledger topic (keyed by client
id), where `Router.handle_ledger` runs rule 7 (incidents). Both are pure
functions of their input and state, so faust agent code stays thin and unit
tests need no broker. Neither ever raises: a failure becomes a `malformed`
outcome and a dead letter, so the partition never stalls.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from kernel.blobs import BlobStore
from kernel.config import MailLimits
from schemas.events import (
    AddMessage,
    Attachment,
    DeadLetter,
    Decision,
    IncidentsGranted,
    IncomingEmail,
    MailContent,
    OpenTicket,
    Outcome,
    RawEmail,
)
from schemas.raw import raw_bytes
from services.router import web_requests
from services.router.gateways import Home, copy_key, home
from services.router.ledger import (
    ChargeRequest,
    GrantForward,
    Ledger,
    dumps_item,
    loads_item,
    split_items,
)
from services.router.mail import MAX_BODY_BYTES, ParsedMail, Part
from services.router.notice import DEFAULT_NOTICE, notice_for
from services.router.outputs import LEDGER, Out
from services.router.rules import automatic, client, empty, incidents, parse, recipient, thread
from services.router.rules.base import Action, Context, Directory, Verdict

log = logging.getLogger(__name__)

# Rules 1-6, in order; rule 7 (incidents) runs after the repartition by client id.
RULES: tuple[ModuleType, ...] = (parse, automatic, recipient, empty, thread, client)


def decide(mail: ParsedMail, ctx: Context, rules: tuple[ModuleType, ...] = RULES) -> Verdict:
    """Run the rules in order; the first that decides wins. A rule that raises -> malformed."""
    for rule in rules:
        try:
            verdict = rule.check(mail, ctx)
        except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the partition
            log.exception("rule %s raised on %s", rule.NAME, ctx.raw.email_id)
            return parse.malformed(
                f"rule {rule.NAME} raised {type(exc).__name__}: {exc}", rule.NAME
            )
        if verdict is not None:
            return verdict
    raise AssertionError("the client rule always decides")


@dataclass(eq=False)
class Router:
    directory: Directory
    ticket_key: bytes = field(repr=False)
    blobs: BlobStore | None = None
    notice_window_s: float = 24 * 3600
    limits: MailLimits = field(default_factory=MailLimits)

    # ------------------------------------------------------------ stage 1: mail.raw

    def handle_raw(self, key: bytes | str | None, value: bytes | None) -> list[Out]:
        got = self.decode_raw(key, value)
        return got if isinstance(got, list) else self.route(got)

    def decode_raw(self, key: bytes | str | None, value: bytes | None) -> RawEmail | list[Out]:
        """The record as a RawEmail, or the dead letter and outcome for one that is not."""
        gateway_id = key.decode("utf-8", "replace") if isinstance(key, bytes) else (key or "")
        try:
            return RawEmail.model_validate_json(value or b"")
        except Exception as exc:  # noqa: BLE001
            return self._undecodable(gateway_id, value, f"not a RawEmail: {_short(exc)}")

    def route(self, raw: RawEmail) -> list[Out]:
        try:
            return self._route(raw)
        except Exception as exc:  # noqa: BLE001
            log.exception("router failed on %s", raw.email_id)
            return self._dead(raw.email_id, raw.gateway_id, "router", f"{_short(exc)}")

    def parse_raw(self, raw: RawEmail) -> tuple[ParsedMail | None, Verdict | None]:
        try:
            data = raw_bytes(raw, self.blobs or BlobStore(Path("/nonexistent-blob-store")))
        except Exception as exc:  # noqa: BLE001 - missing or corrupt blob
            return None, parse.malformed(f"raw bytes unavailable: {_short(exc)}")
        got = parse.read(data, self.limits)
        return (None, got) if isinstance(got, Verdict) else (got, None)

    def _route(self, raw: RawEmail) -> list[Out]:
        mail, verdict = self.parse_raw(raw)
        ctx = Context(raw=raw, directory=self.directory, ticket_key=self.ticket_key)
        if mail is not None:
            verdict = decide(mail, ctx)
        assert verdict is not None
        return self.outputs(raw, mail, ctx, verdict)

    def outputs(
        self, raw: RawEmail, mail: ParsedMail | None, ctx: Context, v: Verdict
    ) -> list[Out]:
        if v.action is Action.DEAD or mail is None:
            return self._dead(raw.email_id, raw.gateway_id, v.rule, v.reason)
        outs: list[Out] = []
        if v.action is Action.OPEN_TICKET:
            assert v.client_id is not None and v.ticket_id is not None
            at = self.home(raw, mail)
            req = self.charge_request(raw, mail, v, at)
            ticket = OpenTicket(
                email_id=raw.email_id,
                gateway_id=at.gateway_id,
                ticket_id=v.ticket_id,
                client_id=v.client_id,
                department_id=at.department_id,
                content=self.content(raw, mail),
                charged=req.per_incident,  # emitted only if settled as opened, and then charged
            )
            data = dumps_item(req, ticket.model_dump_json().encode())
            return [Out(LEDGER, str(v.client_id), ticket, data)]
        content = None
        if v.action is Action.ADD_MESSAGE:
            assert v.client_id is not None and v.ticket_id is not None
            content = self.content(raw, mail)
            outs.append(
                Out(
                    "ticket_commands",
                    str(v.client_id),
                    AddMessage(
                        email_id=raw.email_id,
                        gateway_id=raw.gateway_id,
                        ticket_id=v.ticket_id,
                        client_id=v.client_id,
                        content=content,
                        author=v.author,
                    ),
                )
            )
        elif v.action is Action.INCOMING:
            content = self.content(raw, mail)
            at = self.home(raw, mail)
            outs.append(
                Out(
                    "incoming",
                    raw.gateway_id,
                    IncomingEmail(
                        email_id=raw.email_id,
                        gateway_id=at.gateway_id,
                        department_id=at.department_id,
                        content=content,
                        automatic=ctx.automatic,
                        reason=self._reason(v, ctx),
                    ),
                )
            )
        more = {"client_id": v.client_id, "automatic": ctx.automatic}
        outs.append(_outcome(raw.email_id, raw.gateway_id, v, self._reason(v, ctx), **more))
        return outs

    def charge_request(
        self, raw: RawEmail, mail: ParsedMail, v: Verdict, at: Home | None = None
    ) -> ChargeRequest:
        """What rule 7 needs of a mail that opens a ticket for a known client (`at`: its home
        gateway, when the caller has it already)."""
        assert v.client_id is not None and v.ticket_id is not None
        at = at or self.home(raw, mail)
        dept = self.directory.department(at.department_id)
        return ChargeRequest(
            email_id=raw.email_id,
            gateway_id=raw.gateway_id,
            client_id=v.client_id,
            gateway_address=at.address,
            department_id=at.department_id,
            ticket_id=v.ticket_id,
            per_incident=bool(dept and dept.per_incident),
            notice_text=(dept.insufficient_notice if dept else "") or DEFAULT_NOTICE,
            notice_to=mail.return_path or mail.from_address,
            message_id=mail.message_id,
            references=tuple(mail.references),
            subject=mail.subject[:1000],
            copy_key=copy_key(mail),
        )

    def home(self, raw: RawEmail, mail: ParsedMail) -> Home:
        """The gateway whose department the mail goes to when it reached several (the
        first gateway address in To; see `services.router.gateways`)."""
        return home(raw, mail.to_addresses, getattr(self.directory, "gateways", None))

    @staticmethod
    def _reason(v: Verdict, ctx: Context) -> str:
        if ctx.automatic and v.decision is not Decision.AUTOMATIC and ctx.automatic_reasons:
            return f"{v.reason} [automatic: {'; '.join(ctx.automatic_reasons)}]"
        return v.reason

    def content(self, raw: RawEmail, mail: ParsedMail) -> MailContent:
        """What staff read; bodies beyond MAX_BODY_BYTES are cut and kept whole as attachments."""
        parts = list(mail.attachments)
        text, html = mail.text, mail.html
        if len(text) > MAX_BODY_BYTES // 4 and len(raw_text := text.encode()) > MAX_BODY_BYTES:
            parts.append(Part("text/plain", "body.txt", raw_text))
            text = raw_text[:MAX_BODY_BYTES].decode("utf-8", "ignore")
        if len(html) > MAX_BODY_BYTES // 4 and len(raw_html := html.encode()) > MAX_BODY_BYTES:
            parts.append(Part("text/html", "body.html", raw_html))
            html = ""
        attachments = tuple(
            Attachment(
                filename=p.filename[:255],
                content_type=p.content_type,
                size=len(p.payload),
                blob_ref=self.blobs.put(p.payload) if self.blobs is not None else None,
            )
            for p in parts[:500]  # a pathological mail must not make a 1 MB command
        )
        return MailContent(
            from_address=mail.from_address,
            from_name=mail.from_name[:255],
            subject=mail.subject[:1000],
            message_id=mail.message_id,
            text=text,
            html=html,
            attachments=attachments,
            received_at=raw.fetched_at,
            to_addresses=tuple(dict.fromkeys(mail.to_addresses))[:100],
            cc_addresses=tuple(dict.fromkeys(mail.cc_addresses))[:100],
        )

    def _dead(self, email_id: str, gateway_id: str, rule: str, reason: str) -> list[Out]:
        return [
            Out(
                "dead",
                email_id,
                DeadLetter(
                    email_id=email_id,
                    gateway_id=gateway_id,
                    stage=f"router.{rule}",
                    reason=reason,
                ),
            ),
            _outcome(email_id, gateway_id, Verdict(Decision.MALFORMED, rule), reason),
        ]

    def _undecodable(self, gateway_id: str, value: bytes | None, reason: str) -> list[Out]:
        email_id = ""
        with contextlib.suppress(Exception):  # any shape of garbage: fall back to a hash
            email_id = str(json.loads(value or b"").get("email_id") or "")
        if not email_id:
            email_id = "undecodable-" + hashlib.sha256(value or b"").hexdigest()[:20]
        return self._dead(email_id, gateway_id, "parse", reason)

    # ------------------------------------------------------------ billing.incidents

    def handle_grant(self, key: bytes | str | None, value: bytes | None) -> list[Out]:
        """Forward a grant to the ledger topic, keyed by client id like the charges."""
        try:
            grant = IncidentsGranted.model_validate_json(value or b"")
        except Exception as exc:  # noqa: BLE001
            return _unreadable("grant", "incidents", "bad grant", value, exc)
        item = GrantForward(grant=grant)
        return [Out(LEDGER, str(grant.client_id), item, dumps_item(item))]

    # ------------------------------------------------------------ stage 2: ledger

    def handle_ledger(self, value: bytes | None, ledger: Ledger, now: float) -> list[Out]:
        """Rule 7 for each item of a ledger record, in order."""
        items = split_items(value or b"")
        return [out for data in items for out in self._settle(data, ledger, now)]

    def _settle(self, value: bytes, ledger: Ledger, now: float) -> list[Out]:
        try:
            item, ticket = loads_item(value)
        except Exception as exc:  # noqa: BLE001 - only our own agent writes this topic
            log.error("bad ledger item dropped: %s", _short(exc))
            return _unreadable("ledger", "ledger", "bad ledger item", value, exc)
        if isinstance(item, GrantForward):
            ledger.grant(item.grant)
            return []
        if item.request_id:  # a ticket from the web or the API
            return web_requests.settle(item, ledger, now, self.notice_window_s)
        if not ticket:  # e.g. written by a router before the ticket travelled as bytes
            return self._dead(
                item.email_id, item.gateway_id, incidents.NAME, "the charge carries no ticket"
            )
        try:
            settled, _replayed = incidents.check(item, ledger, now, self.notice_window_s)
        except Exception as exc:  # noqa: BLE001
            log.exception("incidents rule raised on %s", item.email_id)
            return self._dead(item.email_id, item.gateway_id, incidents.NAME, _short(exc))
        req = item
        outs: list[Out] = []
        if settled.decision is Decision.TICKET_OPENED:
            # The OpenTicket the route agent serialised, passed through unparsed.
            outs.append(Out("ticket_commands", str(req.client_id), None, ticket))
        if settled.notice:
            outs.append(Out("outbound", req.notice_to, notice_for(req)))
        more = {"client_id": req.client_id, "replay_id": req.replay_id or None}
        outs.append(_outcome(req.email_id, req.gateway_id, settled, settled.reason, **more))
        return outs


def _outcome(
    email_id: str, gateway_id: str, decided: Verdict | incidents.Settled, reason: str, **more: Any
) -> Out:
    """The mail's line on mail.outcomes, keyed by its email id: what became of it and why."""
    return Out(
        "outcomes",
        email_id,
        Outcome(
            email_id=email_id,
            gateway_id=gateway_id,
            decision=decided.decision,
            rule=decided.rule,
            reason=reason,
            ticket_id=decided.ticket_id,
            **more,
        ),
    )


def _unreadable(
    prefix: str, stage: str, what: str, value: bytes | None, exc: BaseException
) -> list[Out]:
    """A record nobody can read has no email id: dead-lettered under a hash of its bytes."""
    ref = f"{prefix}-" + hashlib.sha256(value or b"").hexdigest()[:20]
    letter = DeadLetter(email_id=ref, stage=f"router.{stage}", reason=f"{what}: {_short(exc)}")
    return [Out("dead", ref, letter)]


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 2000 else text[:2000] + "…"
