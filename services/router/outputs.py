"""What the router emits: `Out` (a topic, a key, an event or raw bytes), and the grouping
of a batch's ledger records by client (faust pays its cost per record delivered, so one
record per client per batch is what makes settling cheap).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from services.router.ledger import join_items
from services.router.text import dump_safe

LEDGER = "ledger"  # pseudo topic name: the router's internal repartition topic
# A batch's ledger items of one client travel as one record up to this size (the
# broker refuses records over 1 MB by default; one item alone may be larger).
LEDGER_RECORD_BYTES = 512 * 1024


@dataclass(frozen=True)
class Out:
    """One record to produce: a Topics field name (or LEDGER), a key, and the event.

    ``data`` is the record's value serialised: given for a ledger record or an
    OpenTicket passed through the ledger as bytes (``event`` is then what it carries,
    for readers in tests, or None where it was never parsed), else made from the
    event when the Out is built, free of refused characters (`text.dump_safe`).
    """

    topic: str
    key: str
    event: BaseModel | None
    data: bytes | None = None

    def __post_init__(self) -> None:
        # The door every event leaves by: no NUL or XML-refused character gets out.
        # (Ledger records come serialised, from content that parsing already cleaned.)
        if self.event is not None and self.data is None:
            event, data = dump_safe(self.event)
            object.__setattr__(self, "event", event)
            object.__setattr__(self, "data", data)

    def value(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.event is not None
        return self.event.model_dump_json().encode()


def group_ledger(outs: list[Out], max_bytes: int = LEDGER_RECORD_BYTES) -> list[Out]:
    """The ledger records of a batch as one record per client (up to about max_bytes
    each, in their order), the other outputs as they are."""
    grouped: list[Out] = []
    parts: dict[int, list[bytes]] = {}  # index in grouped -> the items it will carry
    open_: dict[str, tuple[int, int]] = {}  # client -> (its open group, bytes so far)
    for out in outs:
        if out.topic != LEDGER:
            grouped.append(out)
            continue
        data = out.value()
        at = open_.get(out.key)
        if at is not None and at[1] + 1 + len(data) <= max_bytes:
            parts[at[0]].append(data)
            open_[out.key] = (at[0], at[1] + 1 + len(data))
            continue
        open_[out.key] = (len(grouped), len(data))
        parts[len(grouped)] = [data]
        grouped.append(out)
    for i, items in parts.items():
        if len(items) > 1:
            grouped[i] = Out(LEDGER, grouped[i].key, None, join_items(items))
    return grouped
