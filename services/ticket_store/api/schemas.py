"""What the API accepts: the request bodies (`*In`, `*Patch`), and the login answers.

What it returns is in `presenters` (shared with the web pages and the CLI). Bodies
refuse unknown fields, so a typo is a 422 and not a silent no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.ticket_store.domain.gateway_kinds import gateway_type
from services.ticket_store.presenters import Out


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ auth


class LoginIn(In):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    role: Literal["staff", "client"] = "staff"


class TokenIn(LoginIn):
    name: str = Field(default="script", max_length=200)


class Me(Out):
    role: Literal["staff", "client"]
    id: int
    name: str
    email: str
    is_admin: bool = False
    department_ids: list[int] = []
    via: str
    csrf_token: str = ""


class TokenOut(Out):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime | None


# ------------------------------------------------------------------ departments and staff


class DepartmentIn(In):
    name: str = Field(min_length=1, max_length=200)
    show_in_support_center: bool = False
    per_incident: bool = False
    insufficient_notice: str = ""


class DepartmentPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    show_in_support_center: bool | None = None
    per_incident: bool | None = None
    insufficient_notice: str | None = None


class StaffIn(In):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    password: str = Field(min_length=8, max_length=1000)
    is_admin: bool = False
    department_ids: list[int] = []


class StaffPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    active: bool | None = None
    is_admin: bool | None = None
    department_ids: list[int] | None = None


# ------------------------------------------------------------------ clients and incidents


class ClientIn(In):
    name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(min_length=1)
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    comment: str = ""


class ClientPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class EmailIn(In):
    email: str = Field(max_length=320)


class IncidentsIn(In):
    amount: int = Field(description="incidents to add; negative takes them back")
    reason: str = Field(default="granted by hand", max_length=1000)
    grant_id: str | None = Field(
        default=None, max_length=64, description="idempotency key: the same id grants once"
    )


# ------------------------------------------------------------------ gateways


class GatewayIn(In):
    name: str = Field(min_length=1, max_length=200)
    protocol: Literal["imap", "pop3", "maildir"] = "imap"
    host: str = ""
    port: int = Field(default=0, ge=0, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_tls: bool = True
    username: str = ""
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    maildir_path: str = ""
    address: str = Field(max_length=320)
    extra_addresses: list[str] = []
    department_id: int
    poll_interval_s: int = Field(default=300, ge=10)
    after_fetch: Literal["mark-read", "delete"] = "mark-read"
    enabled: bool = True

    def gateway_fields(self) -> dict[str, object]:
        """What `actions.gateways.add_gateway` takes, without the password, with its type."""
        fields = self.model_dump(exclude={"password"})
        fields["type"] = gateway_type(
            self.protocol, host=self.host, port=self.port, maildir_path=self.maildir_path
        )
        return fields


class GatewayPatch(In):
    """Only the fields given change; a password given is encrypted, never returned."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    security: Literal["tls", "starttls", "none"] | None = None
    verify_tls: bool | None = None
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    folder: str | None = None
    maildir_path: str | None = None
    address: str | None = Field(default=None, max_length=320)
    extra_addresses: list[str] | None = None
    department_id: int | None = None
    poll_interval_s: int | None = Field(default=None, ge=10)
    after_fetch: Literal["mark-read", "delete"] | None = None
    enabled: bool | None = None


# ------------------------------------------------------------------ tickets


class TextIn(In):
    text: str = Field(min_length=1, max_length=200_000)


StatusName = Literal["new", "in_progress", "awaiting_client", "closed", "archived"]


class StatusIn(In):
    status: StatusName


class ClientTicketIn(In):
    department_id: int
    subject: str = Field(min_length=1, max_length=998)
    text: str = Field(min_length=1, max_length=200_000)


class RatingIn(In):
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field(default="", max_length=2000)


# ------------------------------------------------------------------ pre-defined replies


class ReplyIn(In):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=200_000)
    scope: Literal["all", "department", "staff"] = "all"
    department_id: int | None = None
    staff_id: int | None = None


class ReplyPatch(In):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, min_length=1, max_length=200_000)
    scope: Literal["all", "department", "staff"] | None = None
    department_id: int | None = None
    staff_id: int | None = None


# ------------------------------------------------------------------ incoming emails


class ConvertIn(In):
    client_name: str | None = Field(default=None, max_length=200)


class AttachIn(In):
    """Attach to a client (a new ticket of theirs) or to a ticket (a message in it)."""

    client_id: int | None = None
    ticket_number: int | None = None
    register_address: bool = Field(
        default=False, description="also register the sender's address to the client"
    )
