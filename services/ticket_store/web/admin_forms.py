"""The administrators' form models: departments, staff, clients and their incidents, mail
gateways. Each turns what the form posts into what the actions take, with the limits
the admin API's bodies have."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.gateway_kinds import gateway_type
from services.ticket_store.domain.text import clean_text
from services.ticket_store.models import Gateway, Staff
from services.ticket_store.web.forms import (
    MAX_ID,
    Checkbox,
    Email,
    Line,
    Name,
    NewPassword,
    Number,
    Password,
    PlainAddresses,
    WebForm,
    blank_none,
    form_number,
    lines,
)

T = TypeVar("T")


class DepartmentForm(WebForm):
    """The whole form is saved; an unticked box is a 'no' (browsers do not send it)."""

    name: Name = ""
    show_in_support_center: Checkbox = False
    per_incident: Checkbox = False
    insufficient_notice: Annotated[str, AfterValidator(clean_text)] = ""


def _choice(value: object) -> int:
    number = form_number(value)
    if number is None:
        raise ValueError(f"{value!r} is not a valid choice.")
    return number


class StaffForm(WebForm):
    """A staff member's edit form; an empty password keeps the current one."""

    name: Name = ""
    email: Email = ""
    password: NewPassword = None
    department_ids: list[Annotated[int, BeforeValidator(_choice)]] = []
    is_admin: Checkbox = False
    active: Checkbox = False

    @classmethod
    def of(cls, staff: Staff) -> dict[str, Any]:
        """The form filled with the member's current values, as a browser posts them."""
        return {
            "name": staff.name,
            "email": staff.email,
            "department_ids": [str(d.id) for d in sorted(staff.departments, key=lambda d: d.id)],
            "is_admin": staff.is_admin,
            "active": staff.active,
        }

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in super().fields().items() if v is not None}


class NewStaffForm(StaffForm):
    """A new member needs a password."""

    password: Password = ""  # type: ignore[assignment]


class ClientForm(WebForm):
    """A new client: at least one address (typed one per line); a password lets them log in."""

    name: Name = ""
    emails: Annotated[str, PlainAddresses] = ""
    password: NewPassword = None
    comment: Annotated[str, AfterValidator(clean_text)] = ""

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: str) -> str:
        if not lines(value):
            raise ValueError("Give at least one email address.")
        return value

    def addresses(self) -> list[str]:
        return lines(self.emails)


class ClientEditForm(WebForm):
    """Name and internal comment; an empty password keeps the current one."""

    name: Name = ""
    comment: Annotated[str, AfterValidator(clean_text)] = ""
    password: NewPassword = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in super().fields().items() if v is not None}


class EmailForm(WebForm):
    email: Email = ""


class IncidentsForm(WebForm):
    amount: int = 0
    reason: Annotated[Line, Field(max_length=1000)] = ""

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return value or "granted by hand"

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("amount must not be zero")
        return value


class ConfirmForm(WebForm):
    confirm: str = ""


# ------------------------------------------------------------------ mail gateways


def _blank_zero(value: object) -> object:
    return 0 if isinstance(value, str) and not value.strip() else value


class GatewayForm(WebForm):
    """A gateway's edit form: it keeps its type and protocol; an empty password keeps the
    stored one, an empty name the current one."""

    name: Annotated[Line, Field(max_length=200)] = ""
    protocol: str = "imap"
    host: Line = ""
    port: Annotated[int, BeforeValidator(_blank_zero), Field(ge=0, le=65535)] = 0
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_tls: Checkbox = False
    username: Line = ""
    password: str = Field(default="", repr=False)
    folder: Line = ""
    maildir_path: Line = ""
    address: Email = ""
    extra_addresses: Annotated[str, PlainAddresses] = ""
    department_id: Number = None
    poll_interval_s: Annotated[Annotated[int, Field(ge=10)] | None, BeforeValidator(blank_none)] = (
        None
    )
    after_fetch: Literal["mark-read", "delete"] = "mark-read"
    enabled: Checkbox = False

    def _settings(self, kind: str) -> dict[str, Any]:
        """The fields of this type of gateway, without name and password."""
        fields: dict[str, Any] = {
            "address": self.address,
            "extra_addresses": lines(self.extra_addresses),
            "after_fetch": self.after_fetch,
            "enabled": self.enabled,
        }
        if self.department_id is not None:
            fields["department_id"] = self.department_id
        if self.poll_interval_s is not None:
            fields["poll_interval_s"] = self.poll_interval_s
        if kind == "local":
            return fields | {"maildir_path": self.maildir_path}
        return fields | {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "verify_tls": self.verify_tls,
            "username": self.username,
            "folder": self.folder or "INBOX",
        }

    def changes(self, gw: Gateway) -> dict[str, Any]:
        """What `actions.gateways.edit_gateway` takes: the whole form, the password only when
        one was typed."""
        changes = self._settings(gw.type) | {"name": self.name or gw.name}
        return changes | ({"password": self.password} if self.password else {})


class NewGatewayForm(GatewayForm):
    """Step 2 of adding a gateway: the type chosen in step 1 and its parameters."""

    type: str = ""

    @model_validator(mode="after")
    def _kind(self) -> NewGatewayForm:
        if self.type not in ("external", "local"):
            raise ValueError("Choose the gateway type first: external or local.")
        if self.type == "external" and self.protocol not in ("imap", "pop3"):
            raise ValueError("An external gateway reads an IMAP or POP3 server.")
        return self

    def gateway(self) -> dict[str, Any]:
        """What `actions.gateways.add_gateway` takes (but the password), with its type."""
        if not self.name:
            raise ValueError("Give the gateway a name.")
        if self.department_id is None:
            raise ValueError("Choose the gateway's department.")
        if self.type == "local":  # a Maildir, unless the MTA delivers it over LMTP
            protocol = "lmtp" if self.protocol == "lmtp" else "maildir"
        else:
            protocol = self.protocol
        fields = self._settings(self.type) | {"name": self.name, "protocol": protocol}
        fields["type"] = gateway_type(
            protocol, host=self.host, port=self.port, maildir_path=self.maildir_path
        )
        return fields


def found(session: Session, model: type[T], key: int | str, what: str) -> T:
    """The row an admin page is about, or NotFound naming it (`what` and its id)."""
    possible = 0 < key <= MAX_ID if isinstance(key, int) else 0 < len(key) <= 64
    row = session.get(model, key) if possible else None
    if row is None:
        raise NotFound(f"{what} {key}")
    return row
