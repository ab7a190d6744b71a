"""The web's form models: one pydantic model per form, and `Posted`, a form as it came in.

A form is read as typed (`Posted.raw`, shown again after a refusal, never with a
password) and validated only inside the form's action (`Posted.valid`), so a bad
field is the same page again with the reason, not a bare 422. Each model turns what
browsers send (text, ticked boxes, blank numbers) into what the actions take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args, get_origin

from fastapi import Depends, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from services.ticket_store.domain.text import clean_text, one_line, plain_address

MAX_ID = 2**31 - 1
MAX_MESSAGE = 200_000


def form_number(value: object) -> int | None:
    """A positive id typed into a form ("12", "#12"), or None."""
    text = str(value if value is not None else "").strip().lstrip("#")
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        return None
    return int(text)


def blank_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def lines(value: str) -> list[str]:
    """Addresses typed one per line (or separated by commas or spaces)."""
    return [part for part in value.replace(",", " ").split() if part]


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _ticked(value: object) -> bool:
    """A check box: browsers send its value when ticked and nothing when not."""
    return str(value if value is not None else "").strip().lower() in {"1", "on", "yes", "true"}


def _in_words(check: Callable[[str], str], sentence: str) -> AfterValidator:
    """A rule of `domain.text`, refused with the page's own sentence."""

    def run(value: str) -> str:
        try:
            return check(value)
        except ValueError:
            raise ValueError(sentence) from None

    return AfterValidator(run)


OneLine = _in_words(
    one_line, "Names, titles and subjects are one line, without control characters."
)


def address_or_blank(value: str) -> str:
    return plain_address(value) if value else value


def addresses(value: str) -> str:
    """Addresses typed one per line: each one plain address."""
    for part in lines(value):
        plain_address(part)
    return value


PlainAddress = _in_words(address_or_blank, "Give one plain email address (name@example.org).")
PlainAddresses = _in_words(
    addresses, "Give plain email addresses (name@example.org), one per line."
)
Checkbox = Annotated[bool, BeforeValidator(_ticked)]
FormId = Annotated[int | None, BeforeValidator(form_number)]
Number = Annotated[int | None, BeforeValidator(blank_none)]
Text = Annotated[str, BeforeValidator(strip)]
Line = Annotated[str, BeforeValidator(strip), OneLine]  # a host, a folder, a user name
Name = Annotated[str, BeforeValidator(strip), Field(min_length=1, max_length=200), OneLine]
Email = Annotated[str, BeforeValidator(strip), Field(max_length=320), PlainAddress]
Password = Annotated[str, Field(min_length=8, max_length=1000)]
NewPassword = Annotated[Password | None, BeforeValidator(blank_none)]


def message_text(value: str, limit: int = MAX_MESSAGE) -> str:
    """A typed message, refused when empty or too long."""
    if not value.strip():
        raise ValueError("The message is empty.")
    if len(value) > limit:
        raise ValueError(f"The message is longer than {limit} characters.")
    try:
        return clean_text(value)
    except ValueError:
        raise ValueError("The message holds a NUL character or invalid Unicode.") from None


def rule(holds: Callable[[Any], object], sentence: str) -> AfterValidator:
    """A field's rule, refused with the page's own sentence."""

    def check(value: Any) -> Any:
        if not holds(value):
            raise ValueError(sentence)
        return value

    return AfterValidator(check)


Message = Annotated[str, AfterValidator(message_text)]


class WebForm(BaseModel):
    """Every posted form carries the session's CSRF token (checked by `common.act`)."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    csrf_token: str = ""

    def fields(self) -> dict[str, Any]:
        """The form's values, as the actions take them (no token)."""
        return self.model_dump(exclude={"csrf_token"})


F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True)
class Posted(Generic[F]):
    """A form as posted: its raw fields, and its model once `valid()` has checked them."""

    model: type[F]
    raw: dict[str, Any]

    @property
    def csrf_token(self) -> str:
        return str(self.raw.get("csrf_token") or "")

    def valid(self, **override: object) -> F:
        """The form's model, or ValueError naming the fields and rules (never what was typed:
        a password must not come back in a page)."""
        try:
            return self.model.model_validate({**self.raw, **override})
        except ValidationError as exc:
            raise ValueError(_explain(exc)) from None

    def shown(self) -> dict[str, Any]:
        """What the page shows again: everything typed but passwords and the token."""
        return {k: v for k, v in self.raw.items() if k not in {"password", "csrf_token"}}


def _explain(exc: ValidationError) -> str:
    sentences, problems = [], []
    for e in exc.errors():
        if e["type"] == "value_error":
            sentences.append(str(e["ctx"]["error"]))
        else:
            where = ".".join(str(p) for p in e["loc"]) or "form"
            problems.append(f"{where}: {e['msg']}")
    if problems:
        sentences.append(f"Some of the fields are not valid — {'; '.join(problems)}.")
    return " ".join(sentences)


def _is_list(annotation: object) -> bool:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) is list


def posted(model: type[F]) -> Any:
    """A dependency reading the request's form into `Posted[model]`; list fields (ticked
    boxes) keep every value."""
    lists = {name for name, f in model.model_fields.items() if _is_list(f.annotation)}

    async def read(request: Request) -> Posted[F]:
        data = await request.form()
        raw = {k: data.getlist(k) if k in lists else data.get(k) for k in data}
        return Posted(model, raw)

    return Depends(read)


# ------------------------------------------------------------------ log in


class LoginForm(BaseModel):
    """The login form; its own double-submit token, not a session's CSRF token."""

    email: str = ""
    password: str = ""
    role: Annotated[
        Literal["staff", "client"], BeforeValidator(lambda v: "staff" if v == "staff" else "client")
    ] = "client"
    login_token: str = ""


# ------------------------------------------------------------------ tickets and messages


class TextForm(WebForm):
    """A reply, a note, a client's message."""

    text: str = ""

    def message(self) -> str:
        return message_text(self.text)


class ReplyForm(TextForm):
    """A staff reply, possibly starting from a pre-defined reply; to the client only, or
    reply-all (the ticket's Cc'd addresses too)."""

    predefined_reply_id: str = ""
    reply_all: Checkbox = False


class StatusForm(WebForm):
    status: str = ""


class NewTicketForm(WebForm):
    department_id: Annotated[FormId, rule(lambda v: v is not None, "Choose a department.")] = None
    subject: Annotated[
        str,
        rule(lambda v: v.strip() and len(v) <= 998, "The subject has 1 to 998 characters."),
        OneLine,
    ] = ""
    text: Message = ""


class RatingForm(WebForm):
    score: Annotated[FormId, rule(lambda v: v and v <= 5, "Choose a score from 1 to 5.")] = None
    comment: Annotated[str, Field(max_length=2000), AfterValidator(clean_text)] = ""


# ------------------------------------------------------------------ incoming emails


class ConvertForm(WebForm):
    client_name: Annotated[
        Text,
        rule(lambda v: len(v) <= 200, "The client's name is longer than 200 characters."),
        OneLine,
    ] = ""


class AttachClientForm(WebForm):
    client: str = ""
    register_address: Checkbox = False


class AttachTicketForm(WebForm):
    ticket_number: Annotated[FormId, rule(lambda v: v is not None, "Give the ticket's number.")] = (
        None
    )


class DiscardForm(WebForm):
    status: str = "deleted"


# ------------------------------------------------------------------ pre-defined replies


class PredefinedReplyForm(WebForm):
    title: Annotated[
        str,
        rule(lambda v: v.strip() and len(v) <= 200, "The title has 1 to 200 characters."),
        AfterValidator(str.strip),
        OneLine,
    ] = ""
    text: Message = ""
    scope: str = "all"
    department_id: FormId = None
    staff_id: FormId = None
