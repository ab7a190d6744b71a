"""What the API accepts: the request bodies (`*In`, `*Patch`), and the login answers.

What it returns is in `presenters` (shared with the web pages and the CLI). Bodies
refuse unknown fields, so a typo is a 422 and not a silent no-op; they are strict
(`true` is not a number, `1` is not text); names, titles and subjects are one line,
addresses one plain address (`domain.text`); a PATCH refuses `null` for a field that
must have a value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.ticket_store.domain.gateway_kinds import gateway_type
from services.ticket_store.domain.text import clean_text, one_line, plain_address
from services.ticket_store.presenters import Out


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Patch(In):
    """Only the fields given change; `null` only where it means something (NULLABLE)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None and k not in cls.NULLABLE)
            if nulls:
                raise ValueError(f"{', '.join(nulls)}: give a value or leave the field out")
        return data


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
Line = Annotated[str, AfterValidator(one_line)]  # a host, a folder, a user name
Address = Annotated[str, Field(max_length=320), AfterValidator(plain_address)]
Text = Annotated[str, AfterValidator(clean_text)]


# ------------------------------------------------------------------ auth


class LoginIn(In):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    role: Literal["staff", "client"] = "staff"


class TokenIn(LoginIn):
    name: Annotated[str, Field(max_length=200), AfterValidator(one_line)] = "script"


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
    name: Name
    show_in_support_center: bool = False
    per_incident: bool = False
    insufficient_notice: Text = Field(default="", max_length=200_000)


class DepartmentPatch(Patch):
    name: Name | None = None
    show_in_support_center: bool | None = None
    per_incident: bool | None = None
    insufficient_notice: Text | None = Field(default=None, max_length=200_000)


class StaffIn(In):
    name: Name
    email: Address
    password: str = Field(min_length=8, max_length=1000)
    is_admin: bool = False
    department_ids: list[int] = []


class StaffPatch(Patch):
    name: Name | None = None
    email: Address | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    active: bool | None = None
    is_admin: bool | None = None
    department_ids: list[int] | None = None


# ------------------------------------------------------------------ clients and incidents


class ClientIn(In):
    name: Name
    emails: list[Address] = Field(min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    comment: Text = Field(default="", max_length=10_000)


class ClientPatch(Patch):
    name: Name | None = None
    comment: Text | None = Field(default=None, max_length=10_000)
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class EmailIn(In):
    email: Address


class IncidentsIn(In):
    amount: int = Field(description="incidents to add; negative takes them back")
    reason: Annotated[str, Field(max_length=1000), AfterValidator(one_line)] = "granted by hand"
    grant_id: str | None = Field(
        default=None, max_length=64, description="idempotency key: the same id grants once"
    )


# ------------------------------------------------------------------ gateways


class GatewayIn(In):
    name: Name
    protocol: Literal["imap", "pop3", "maildir", "lmtp"] = "imap"
    host: Line = Field(default="", max_length=255)
    port: int = Field(default=0, ge=0, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_tls: bool = True
    username: Line = Field(default="", max_length=320)
    password: str = Field(default="", repr=False, max_length=1000)
    folder: Line = Field(default="INBOX", max_length=1000)
    maildir_path: Line = Field(default="", max_length=4096)
    address: Address
    extra_addresses: list[Address] = Field(default=[], max_length=100)
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


class GatewayPatch(Patch):
    """Only the fields given change; a password given is encrypted, never returned."""

    name: Name | None = None
    host: Line | None = Field(default=None, max_length=255)
    port: int | None = Field(default=None, ge=0, le=65535)
    security: Literal["tls", "starttls", "none"] | None = None
    verify_tls: bool | None = None
    username: Line | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, repr=False, max_length=1000)
    folder: Line | None = Field(default=None, max_length=1000)
    maildir_path: Line | None = Field(default=None, max_length=4096)
    address: Address | None = None
    extra_addresses: list[Address] | None = Field(default=None, max_length=100)
    department_id: int | None = None
    poll_interval_s: int | None = Field(default=None, ge=10)
    after_fetch: Literal["mark-read", "delete"] | None = None
    enabled: bool | None = None


# ------------------------------------------------------------------ tickets


class TextIn(In):
    text: Text = Field(min_length=1, max_length=200_000)


class StaffReplyIn(TextIn):
    reply_all: bool = Field(
        default=False,
        description="also Cc the ticket's Cc'd addresses (the ticket's cc_addresses)",
    )


StatusName = Literal["new", "in_progress", "awaiting_client", "closed", "archived"]


class StatusIn(In):
    status: StatusName


class ClientTicketIn(In):
    department_id: int
    subject: Annotated[str, Field(min_length=1, max_length=998), AfterValidator(one_line)]
    text: Text = Field(min_length=1, max_length=200_000)


class RatingIn(In):
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: Text = Field(default="", max_length=2000)


# ------------------------------------------------------------------ pre-defined replies


class ReplyIn(In):
    title: Name
    text: Text = Field(min_length=1, max_length=200_000)
    scope: Literal["all", "department", "staff"] = "all"
    department_id: int | None = None
    staff_id: int | None = None


class ReplyPatch(Patch):
    NULLABLE = frozenset({"department_id", "staff_id"})

    title: Name | None = None
    text: Text | None = Field(default=None, min_length=1, max_length=200_000)
    scope: Literal["all", "department", "staff"] | None = None
    department_id: int | None = None
    staff_id: int | None = None


# ------------------------------------------------------------------ incoming emails


class ConvertIn(In):
    client_name: Name | None = None


class AttachIn(In):
    """Attach to a client (a new ticket of theirs) or to a ticket (a message in it)."""

    client_id: int | None = None
    ticket_number: int | None = None
    register_address: bool = Field(
        default=False, description="also register the sender's address to the client"
    )
