"""The administrators' form models: departments, staff, clients and their incidents, mail
gateways. Each turns what the form posts into what the actions take, with the limits
the admin API's bodies have."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from services.ticket_store.domain.gateway_kinds import gateway_type
from services.ticket_store.web.forms import (
    Checkbox,
    Email,
    Name,
    NewPassword,
    Number,
    Password,
    Text,
    WebForm,
    blank_none,
    form_number,
    lines,
    strip,
)


class DepartmentForm(WebForm):
    """The whole form is saved; an unticked box is a 'no' (browsers do not send it)."""

    name: Name = ""
    show_in_support_center: Checkbox = False
    per_incident: Checkbox = False
    insufficient_notice: str = ""


class StaffForm(WebForm):
    name: Name = ""
    email: Email = ""
    password: NewPassword = None
    department_ids: list[str] = []
    is_admin: Checkbox = False
    active: Checkbox = False

    @field_validator("department_ids")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if form_number(value) is None:
                raise ValueError(f"{value!r} is not a valid choice.")
        return values

    def department_id_list(self) -> list[int]:
        return [int(v.strip().lstrip("#")) for v in self.department_ids]


class NewStaffForm(StaffForm):
    password: Password = ""  # type: ignore[assignment]


class ClientForm(WebForm):
    """A new client: at least one address (typed one per line); a password lets them log in."""

    name: Name = ""
    emails: str = ""
    password: NewPassword = None
    comment: str = ""

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: str) -> str:
        if not lines(value):
            raise ValueError("Give at least one email address.")
        return value

    def addresses(self) -> list[str]:
        return lines(self.emails)


class ClientEditForm(WebForm):
    name: Name = ""
    comment: str = ""
    password: NewPassword = None


class EmailForm(WebForm):
    email: Email = ""


class IncidentsForm(WebForm):
    amount: int = 0
    reason: Annotated[str, BeforeValidator(strip), Field(max_length=1000)] = ""

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
    """The add and edit forms of a gateway. `type` is chosen in step 1 of adding; a
    gateway keeps its type and protocol (the edit form's are the gateway's own)."""

    type: str = ""
    name: Annotated[str, BeforeValidator(strip), Field(max_length=200)] = ""
    protocol: str = "imap"
    host: Text = ""
    port: Annotated[int, BeforeValidator(_blank_zero), Field(ge=0, le=65535)] = 0
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_tls: Checkbox = False
    username: Text = ""
    password: str = Field(default="", repr=False)
    folder: Text = ""
    maildir_path: Text = ""
    address: Email = ""
    extra_addresses: str = ""
    department_id: Number = None
    poll_interval_s: Annotated[int | None, BeforeValidator(blank_none), Field(ge=10)] = None
    after_fetch: Literal["mark-read", "delete"] = "mark-read"
    enabled: Checkbox = False

    @model_validator(mode="after")
    def _kind(self) -> GatewayForm:
        if self.type not in ("external", "local"):
            raise ValueError("Choose the gateway type first: external or local.")
        if self.type == "external" and self.protocol not in ("imap", "pop3"):
            raise ValueError("An external gateway reads an IMAP or POP3 server.")
        return self

    def _settings(self) -> dict[str, Any]:
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
        if self.type == "local":
            return fields | {"maildir_path": self.maildir_path}
        return fields | {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "verify_tls": self.verify_tls,
            "username": self.username,
            "folder": self.folder or "INBOX",
        }

    def new_gateway(self) -> dict[str, Any]:
        """What `actions.gateways.add_gateway` takes (but the password), with its type."""
        if not self.name:
            raise ValueError("Give the gateway a name.")
        if self.department_id is None:
            raise ValueError("Choose the gateway's department.")
        protocol = "maildir" if self.type == "local" else self.protocol
        fields = self._settings() | {"name": self.name, "protocol": protocol}
        fields["type"] = gateway_type(
            protocol, host=self.host, port=self.port, maildir_path=self.maildir_path
        )
        return fields

    def changes(self, current_name: str) -> dict[str, Any]:
        """What `actions.gateways.edit_gateway` takes: the whole form, the password only when
        one was typed, the current name when none was."""
        changes = self._settings() | {"name": self.name or current_name}
        return changes | ({"password": self.password} if self.password else {})
