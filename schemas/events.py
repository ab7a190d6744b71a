"""The events that cross service boundaries, and nothing else.

Every event carries `schema_version` so that a consumer reading an old topic
(replay, audit) knows what it is looking at. Bump the version of a model when
a field changes meaning; adding an optional field does not need a bump.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

import pybase64
from pydantic import BaseModel, ConfigDict, Field, model_validator


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1


# ---------------------------------------------------------------- mail.raw


class MailSource(BaseModel):
    """Where a raw email came from; the email id is derived from it alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol: Literal["imap", "pop3", "maildir", "lmtp"]
    mailbox: str = "INBOX"
    uidvalidity: int | None = None
    uid: int | None = None
    uidl: str | None = None
    filename: str | None = None
    # LMTP: sha256 of the envelope sender and the content (services.lmtp.delivery), so an
    # MTA's retry of the same delivery is the same email.
    envelope_hash: str | None = None

    def identity(self) -> str:
        if self.protocol == "imap":
            if self.uidvalidity is None or self.uid is None:
                raise ValueError("an IMAP source needs uidvalidity and uid")
            return f"imap:{self.mailbox}:{self.uidvalidity}:{self.uid}"
        if self.protocol == "pop3":
            if not self.uidl:
                raise ValueError("a POP3 source needs a UIDL (or a content hash in its place)")
            return f"pop3:{self.uidl}"
        if self.protocol == "lmtp":
            if not self.envelope_hash:
                raise ValueError("an LMTP source needs the envelope hash")
            return f"lmtp:{self.envelope_hash}"
        if not self.filename:
            raise ValueError("a Maildir source needs the file name")
        # Maildir flags after ':2,' change when a message is read; the unique part does not.
        return f"maildir:{self.filename.split(':2,')[0]}"


def email_id_for(gateway_id: str, source: MailSource) -> str:
    """Deterministic: fetching the same message twice yields the same id."""
    digest = hashlib.sha256(f"{gateway_id}|{source.identity()}".encode()).hexdigest()
    return digest[:32]


class GatewaySnapshot(BaseModel):
    """The gateway settings in force when the mail was taken.

    Stamped into the raw email so that the router's decision, and any replay
    of it for an audit, depends on the event alone.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    department_id: int
    extra_addresses: tuple[str, ...] = ()


class RawEmail(Event):
    email_id: str
    gateway_id: str
    gateway: GatewaySnapshot
    source: MailSource
    fetched_at: datetime = Field(default_factory=utcnow)
    size: int
    sha256: str
    # Exactly one of these: the bytes inline (base64), or a claim-check reference.
    raw_b64: str | None = None
    blob_ref: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> RawEmail:
        if (self.raw_b64 is None) == (self.blob_ref is None):
            raise ValueError("a RawEmail carries either raw_b64 or blob_ref, not both or neither")
        return self

    def inline_bytes(self) -> bytes | None:
        if self.raw_b64 is None:
            return None
        try:  # what our fetcher writes: strict base64, decoded ~15x faster than the stdlib
            return pybase64.b64decode(self.raw_b64, validate=True)
        except ValueError:  # anything else: the stdlib's lenient decoding, as before
            return base64.b64decode(self.raw_b64)


# ---------------------------------------------------------------- mail.outcomes


class Decision(StrEnum):
    TICKET_OPENED = "ticket_opened"
    MESSAGE_ADDED = "message_added"
    INCOMING = "incoming"
    IGNORED_RECIPIENT = "ignored_recipient"
    IGNORED_EMPTY = "ignored_empty"
    INSUFFICIENT_INCIDENTS = "insufficient_incidents"
    AUTOMATIC = "automatic"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


class Outcome(Event):
    email_id: str
    gateway_id: str
    decision: Decision
    rule: str
    reason: str = ""
    ticket_id: str | None = None
    client_id: int | None = None
    automatic: bool = False
    decided_at: datetime = Field(default_factory=utcnow)
    # Set on the outcome of an applied replay: it replaces the recorded one (the store
    # keeps the first outcome of an email otherwise).
    replay_id: str | None = None


# ---------------------------------------------------------------- tickets.commands


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str
    content_type: str
    size: int
    blob_ref: str | None = None


class MailContent(BaseModel):
    """What staff need to read a mail: parsed once by the router."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_address: str
    from_name: str = ""
    subject: str = ""
    message_id: str = ""
    text: str = ""
    html: str = ""
    attachments: tuple[Attachment, ...] = ()
    received_at: datetime = Field(default_factory=utcnow)
    # The mail's To and Cc (normalised addresses), kept so staff can answer everyone.
    to_addresses: tuple[str, ...] = ()
    cc_addresses: tuple[str, ...] = ()


class OpenTicket(Event):
    kind: Literal["open_ticket"] = "open_ticket"
    email_id: str
    gateway_id: str
    ticket_id: str
    client_id: int
    department_id: int
    content: MailContent
    # True when an incident was charged for this ticket.
    charged: bool = False


class AddMessage(Event):
    kind: Literal["add_message"] = "add_message"
    email_id: str
    gateway_id: str
    ticket_id: str
    client_id: int
    content: MailContent
    # "cc": written by an address Cc'd on the ticket, not by its client (content.from_address).
    author: Literal["client", "cc"] = "client"


TicketCommand = Annotated[OpenTicket | AddMessage, Field(discriminator="kind")]


# ---------------------------------------------------------------- mail.incoming


class IncomingEmail(Event):
    email_id: str
    gateway_id: str
    department_id: int
    content: MailContent
    automatic: bool = False
    reason: str = ""


# ---------------------------------------------------------------- mail.outbound


class OutboundEmail(Event):
    outbound_id: str
    to: str
    # The gateway address the client wrote to; empty means the mailer's default.
    from_address: str = ""
    subject: str
    text: str
    html: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    auto_submitted: Literal["no", "auto-replied", "auto-generated"] = "no"
    ticket_id: str | None = None
    message_id: str = ""
    kind: Literal["insufficient_incidents", "staff_reply", "notification"] = "staff_reply"
    # Files staff attached to the reply, in the blob store; the mailer attaches them.
    attachments: tuple[Attachment, ...] = ()
    # Reply-all: the ticket's Cc'd addresses (never a gateway's, never `to`).
    cc: tuple[str, ...] = ()


# ---------------------------------------------------------------- tickets.events


class LifecycleEnvelope(Event):
    """What every record on tickets.events carries besides its payload. Consumers drop
    repeats by `event_id` (or by key and `sequence`), and order by `sequence`."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )

    event_id: str = Field(description="Unique per event; a redelivered record repeats it.")
    at: datetime = Field(default_factory=utcnow, description="When the change was made.")
    sequence: int = Field(
        default=0,
        ge=0,
        description=(
            "Position of this event among the events of its record key (the ticket), from 1, "
            "without gaps; 0 only on records written before sequences existed."
        ),
    )
    actor: str = Field(
        default="",
        description=(
            "Who made the change: 'staff:<id>', 'client:<id>', 'mail' (the mail pipeline), "
            "'cli' or 'system'."
        ),
    )
    cause: str = Field(
        default="",
        description=(
            "What made it happen: 'email:<email id>' (a raw email), 'request:<request id>' "
            "(an API or web request; the X-Request-ID header), 'outbound:<outbound id>' "
            "(the mailer's report on an outgoing email), or '' when unknown."
        ),
    )


class TicketEventBase(LifecycleEnvelope):
    """A change to one ticket; `ticket_id` is also the record key."""

    ticket_id: str = Field(description="The ticket (also the record key).")


class TicketOpened(TicketEventBase):
    type: Literal["ticket_opened"] = "ticket_opened"
    number: int
    department_id: int
    client_id: int
    subject: str
    source_email_id: str | None = None


class MessageAdded(TicketEventBase):
    type: Literal["message_added"] = "message_added"
    message_id: int
    direction: Literal["in", "out", "note"]
    source_email_id: str | None = None
    # Message-ID header of the mail this message was sent as or received as.
    email_message_id: str = ""
    client_id: int | None = None
    # Addresses this message Cc'd on the ticket (its To and Cc, or a reply-all's Cc), gateway
    # and client addresses left out: the router threads their mail into the ticket.
    cc_addresses: tuple[str, ...] = ()


class TicketStatusChanged(TicketEventBase):
    type: Literal["status_changed"] = "status_changed"
    old_status: str
    new_status: str


class TicketAssigned(TicketEventBase):
    type: Literal["assigned"] = "assigned"
    staff_id: int | None = Field(description="The staff member now assigned; None: nobody.")
    previous_staff_id: int | None = None


class IncomingEmailConverted(TicketEventBase):
    """Staff turned an incoming email (unknown sender) into this ticket."""

    type: Literal["incoming_converted"] = "incoming_converted"
    email_id: str
    incoming_email_id: int
    client_id: int
    new_client: bool = Field(description="True when the sender was registered as a new client.")


class IncomingEmailAttached(TicketEventBase):
    """Staff added an incoming email to this existing ticket as the client's message."""

    type: Literal["incoming_attached"] = "incoming_attached"
    email_id: str
    incoming_email_id: int
    message_id: int


class IncomingEmailDiscarded(LifecycleEnvelope):
    """Staff deleted an incoming email or marked it as spam: no ticket. Keyed
    'incoming:<email id>'; an incoming email is handled once, so its sequence is 1."""

    type: Literal["incoming_discarded"] = "incoming_discarded"
    email_id: str
    incoming_email_id: int
    department_id: int
    status: Literal["deleted", "spam"]


class DeliveryResult(TicketEventBase):
    """The mailer's report on a staff reply (a MessageAdded with direction 'out')."""

    type: Literal["delivery_result"] = "delivery_result"
    message_id: int
    outbound_id: str
    # deferred: a temporary failure, retried by the mailer; sent or failed follows.
    status: Literal["sent", "deferred", "failed"]
    detail: str = ""


TicketEvent = Annotated[
    TicketOpened
    | MessageAdded
    | TicketStatusChanged
    | TicketAssigned
    | IncomingEmailConverted
    | IncomingEmailAttached
    | IncomingEmailDiscarded
    | DeliveryResult,
    Field(discriminator="type"),
]
# Every event type on tickets.events, in the order a ticket's life usually shows them.
TICKET_EVENTS: tuple[type[LifecycleEnvelope], ...] = (
    TicketOpened,
    MessageAdded,
    TicketStatusChanged,
    TicketAssigned,
    IncomingEmailConverted,
    IncomingEmailAttached,
    IncomingEmailDiscarded,
    DeliveryResult,
)


# ---------------------------------------------------------------- directory.* and billing


class ClientEntry(Event):
    """Value of directory.clients, keyed by the normalised email; a tombstone is a null value."""

    email: str
    client_id: int
    name: str


class DepartmentEntry(Event):
    department_id: int
    name: str
    per_incident: bool = False
    show_in_support_center: bool = False
    insufficient_notice: str = ""


class GatewayEntry(Event):
    """Value of directory.gateways; the password is Fernet-encrypted, never plaintext."""

    gateway_id: str
    name: str
    type: Literal["external", "local"]
    # lmtp: a local gateway the MTA delivers to (`supportdesk lmtp`); nothing polls it.
    protocol: Literal["imap", "pop3", "maildir", "lmtp"]
    host: str = ""
    port: int = 0
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_tls: bool = True
    username: str = ""
    password_encrypted: str = ""
    # "oauth2": log in with SASL XOAUTH2; the token lives on gateway.tokens, not here.
    auth: Literal["password", "oauth2"] = "password"
    folder: str = "INBOX"
    maildir_path: str = ""
    address: str
    extra_addresses: tuple[str, ...] = ()
    department_id: int
    poll_interval_s: int = Field(default=300, ge=10)
    after_fetch: Literal["mark-read", "delete"] = "mark-read"
    enabled: bool = True

    @property
    def polled(self) -> bool:
        """A fetcher polls it: enabled, and not one the MTA pushes to over LMTP."""
        return self.enabled and self.protocol != "lmtp"


class IncidentsGranted(Event):
    grant_id: str
    client_id: int
    amount: int
    reason: str = ""
    at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- mail.dead


class DeadLetter(Event):
    email_id: str
    gateway_id: str = ""
    stage: str
    reason: str
    at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- mail.delivery


class DeliveryReport(Event):
    """The mailer's word on one outbound email; the store records it on the message."""

    outbound_id: str
    # deferred: a temporary failure; the mailer retries (reported once, on the first).
    status: Literal["sent", "deferred", "failed"]
    detail: str = ""
    message_id: str = ""
    at: datetime = Field(default_factory=utcnow)


ALL_EVENTS: tuple[type[Event], ...] = (
    RawEmail,
    Outcome,
    OpenTicket,
    AddMessage,
    IncomingEmail,
    OutboundEmail,
    TicketOpened,
    MessageAdded,
    TicketStatusChanged,
    TicketAssigned,
    IncomingEmailConverted,
    IncomingEmailAttached,
    IncomingEmailDiscarded,
    DeliveryResult,
    ClientEntry,
    DepartmentEntry,
    GatewayEntry,
    IncidentsGranted,
    DeadLetter,
    DeliveryReport,
)
