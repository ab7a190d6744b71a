"""tickets.events: every change in a ticket's life, for downstream consumers.

The store stamps each event with its sequence, actor and cause when it emits it
(`UnitOfWork.ticket_event`); `schemas.asyncapi` turns these models into the
AsyncAPI document consumers code against (docs/consuming-events.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from schemas.base import Event, utcnow


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
