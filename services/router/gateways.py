"""Which gateway a mail belongs to when it reached several: its *home* gateway.

A mail sent to two monitored addresses is fetched once per gateway: two raw
emails, two email ids, one Message-ID. Rule 7 lets only one copy open a ticket
(the ledger is keyed by client and Message-ID; the other copy is `duplicate`),
and this module makes the department not depend on which copy comes first.

The order: the first address in the mail's **To**, in header order, that is a
gateway's address or one of its extra addresses; among gateways sharing that
address, the smallest gateway id. Cc never counts (rule 3 accepts To only, so
a Cc'd gateway's copy is `ignored_recipient` anyway). Only gateways in the
router's view of directory.gateways that are enabled count, besides the
receiving gateway itself; when none is found the receiving gateway is home.
Every copy of the mail computes the same home, whatever order they arrive in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

from schemas.events import GatewayEntry, RawEmail
from services.router.mail import ParsedMail
from services.router.text import normalise_address

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)


@dataclass(frozen=True)
class Home:
    """The gateway whose department a ticket (or incoming email) goes to."""

    gateway_id: str
    address: str
    department_id: int


def read_entry(model: type[E], value: bytes, what: str) -> E | None:
    """A directory record, or None (logged) when it does not parse: a bad record must not
    stop the feed."""
    try:
        return model.model_validate_json(value)
    except Exception as exc:  # noqa: BLE001
        log.warning("bad %s: %s", what, exc)
        return None


class GatewayIndex:
    """directory.gateways as the router needs it: who owns which address."""

    def __init__(self) -> None:
        self.entries: dict[str, GatewayEntry] = {}
        self._owners: dict[str, list[str]] | None = None

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                self.entries.pop(key.decode("utf-8", "replace"), None)
                self._owners = None
            return
        entry = read_entry(GatewayEntry, value, f"directory.gateways record {key!r}")
        if entry is None:
            return
        self.entries[entry.gateway_id] = entry
        self._owners = None

    def owners(self, address: str) -> list[str]:
        """Ids of the enabled gateways that take mail for this (normalised) address."""
        if self._owners is None:
            owners: dict[str, list[str]] = {}
            for gid, entry in self.entries.items():
                if not entry.enabled:
                    continue
                for addr in {normalise_address(a) for a in (entry.address, *entry.extra_addresses)}:
                    owners.setdefault(addr, []).append(gid)
            self._owners = owners
        return self._owners.get(address, [])


def home(raw: RawEmail, to_addresses: Sequence[str], index: GatewayIndex | None) -> Home:
    """The home gateway of a mail by the order above (To addresses already normalised)."""
    gw = raw.gateway
    receiving = Home(raw.gateway_id, gw.address, gw.department_id)
    if index is None:
        return receiving
    own = {normalise_address(a) for a in (gw.address, *gw.extra_addresses)}
    for address in to_addresses:
        ids = set(index.owners(address))
        if address in own:
            ids.add(raw.gateway_id)
        if not ids:
            continue
        first = min(ids)
        if first == raw.gateway_id:
            return receiving
        entry = index.entries[first]
        return Home(entry.gateway_id, entry.address, entry.department_id)
    return receiving


def copy_key(mail: ParsedMail) -> str:
    """For a mail without a Message-ID, what its copies through other gateways share
    (sender, Date, subject, To, Cc, the start of the text, the files): '' when the mail
    has a Message-ID, or no Date to tell two sends of the same text apart."""
    date = mail.header("Date")
    if mail.message_id or not date or not mail.from_address:
        return ""
    parts = [
        mail.from_address, date, mail.subject, ",".join(sorted(mail.to_addresses)),
        ",".join(sorted(getattr(mail, "cc_addresses", ()))), mail.body_text()[:4096],
        ",".join(f"{p.filename}:{len(p.payload)}" for p in mail.attachments),
    ]  # fmt: skip
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()[:32]
