"""The incidents ledger: state kept per client after the repartition by client id.

Every mail that would open a ticket for a known client, and every grant from
`billing.incidents`, is forwarded to one internal topic keyed by client id.
One partition holds all of a client's grants and charges in one order, and
one agent consumes it, so two mails racing from one client are serialised:
no overdraft. Each mail's decision is recorded in the same partition's tables
(faust changelogs, flushed before offsets are committed),
so a redelivered, restarted or replayed mail finds its decision and re-emits
the same outputs (same ticket id, same notice id) instead of charging again.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.events import IncidentsGranted


class ChargeRequest(BaseModel):
    """A mail that opens a ticket for a known client, unless incidents say no.

    Only what rule 7 and the notice need: the ticket itself (the whole mail
    content) travels next to it as OpenTicket bytes, see `dumps_charge`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["charge"] = "charge"
    email_id: str
    gateway_id: str
    gateway_address: str = ""
    client_id: int
    department_id: int
    ticket_id: str
    per_incident: bool
    notice_text: str = ""
    notice_to: str
    message_id: str = ""
    references: tuple[str, ...] = ()
    subject: str = ""
    # Set by an applied replay: a mail settled before without a ticket is decided again.
    replay_id: str = ""
    # For a mail without a Message-ID: a digest of what every copy of it shares (sender,
    # Date, subject, To, Cc, text), so copies fetched through two gateways stay one ticket.
    copy_key: str = ""
    # Set for a ticket asked for from the web or the API (schemas.ticket_requests): the
    # answer is a TicketDecided for the store, never an outcome or a notice email (the
    # client is on the page and sees the refusal there).
    request_id: str = ""


class GrantForward(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["grant"] = "grant"
    grant: IncidentsGranted


LedgerItem = Annotated[ChargeRequest | GrantForward, Field(discriminator="kind")]
_ITEM = TypeAdapter(LedgerItem)


def dumps_item(item: ChargeRequest | GrantForward, ticket: bytes = b"") -> bytes:
    """One ledger record: the item's JSON, a newline, then for a charge the OpenTicket JSON.

    The OpenTicket carries the mail's whole content; serialised once by the route
    agent and emitted as is when the charge settles as opened, it is never parsed
    on the way (compact JSON has no raw newline, so the first one separates).
    """
    return item.model_dump_json().encode() + b"\n" + ticket


def loads_item(data: bytes) -> tuple[ChargeRequest | GrantForward, bytes]:
    """The item and, for a charge, the OpenTicket bytes (empty if the record has none)."""
    head, _, ticket = data.partition(b"\n")
    return _ITEM.validate_json(head), ticket.strip()


def join_items(records: Sequence[bytes]) -> bytes:
    """Several items of one client as one ledger record, settled in this order.

    The agent that settles them pays faust's cost per record (about as much as
    settling) once for all. Each item is two lines (see `dumps_item`), so a
    record of one item reads as before.
    """
    return b"\n".join(records)


def split_items(data: bytes) -> list[bytes]:
    """A ledger record's items, each as `dumps_item` wrote it."""
    lines = data.split(b"\n")
    if len(lines) % 2:
        lines.append(b"")  # not ours (we always write pairs): its last item has no ticket
    return [lines[i] + b"\n" + lines[i + 1] for i in range(0, len(lines), 2)]


class Ledger:
    """The ledger's tables, as plain mappings (faust tables in the app, dicts in tests).

    ``charges`` holds, per client and Message-ID (or per email id when a mail has
    none), the first ticket opened for it and every email's decision: one write
    per charge serves both redelivery (same email id: same decision) and
    duplicates (same Message-ID from the same client: no second ticket).
    """

    def __init__(
        self,
        balances: MutableMapping[str, Any],
        grants: MutableMapping[str, Any],
        charges: MutableMapping[str, Any],
        notices: MutableMapping[str, Any],
    ) -> None:
        self.balances = balances
        self.grants = grants
        self.charges = charges
        self.notices = notices

    def balance(self, client_id: int) -> int:
        return int(self.balances.get(str(client_id)) or 0)

    def add(self, client_id: int, amount: int) -> None:
        self.balances[str(client_id)] = self.balance(client_id) + amount

    def grant(self, grant: IncidentsGranted) -> bool:
        """Apply a grant once; False when this grant id was already applied."""
        if self.grants.get(grant.grant_id) is not None:
            return False
        self.grants[grant.grant_id] = grant.amount
        self.add(grant.client_id, grant.amount)
        return True


def charge_key(req: ChargeRequest) -> str:
    """Where a charge's decision lives: its client and Message-ID (or, without one, the
    copy key), else its email id."""
    if req.message_id:
        return f"{req.client_id}|{req.message_id}"
    return f"{req.client_id}|copy:{req.copy_key}" if req.copy_key else f"email|{req.email_id}"
