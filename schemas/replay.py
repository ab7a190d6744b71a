"""Replay: the command an applied replay sends the router, and the report every replay
writes (JSON, CSV, HTML).

The report is a contract: the CLI writes it, and an operations page may read it (or
build one with the same code) and render it with `schemas.replay_html.render_html`.
Here, not in the router, because the store's pages must read it without importing
another service.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Event, RawEmail, utcnow

# What a replay would do with one mail.
#   apply:     today's rules decide differently; --apply makes it so
#   unchanged: today's rules decide as recorded; --apply leaves it alone
#   keep:      it has a ticket or message already (any decision): never decided again
RowAction = Literal["apply", "unchanged", "keep"]
NO_OUTCOME = "none"  # the recorded decision of a mail with no recorded outcome


class ReplayCommand(Event):
    """On the replay topic, keyed by email id: decide this raw email again.

    `raw` carries the gateway settings in force now (not those stamped when it was
    fetched), so a corrected gateway address counts. The router skips a mail that has a
    ticket or message already, and stamps `replay_id` on the outcome it writes.
    """

    replay_id: str
    raw: RawEmail
    requested_by: str = ""


class ReplaySelection(BaseModel):
    """Which raw mail a replay reads: every given criterion must hold (empty: any)."""

    model_config = ConfigDict(frozen=True)

    since: datetime | None = None
    until: datetime | None = None
    gateways: tuple[str, ...] = ()
    email_ids: tuple[str, ...] = ()
    decisions: tuple[str, ...] = Field(
        default=(), description=f"Recorded decisions; '{NO_OUTCOME}' for mail without one."
    )

    def describe(self) -> str:
        parts = []
        if self.since or self.until:
            since = self.since.isoformat() if self.since else "the start"
            until = self.until.isoformat() if self.until else "now"
            parts.append(f"from {since} to {until}")
        for name in ("gateways", "email_ids", "decisions"):
            if values := getattr(self, name):
                parts.append(f"{name.replace('_', ' ')} {', '.join(values)}")
        return "; ".join(parts) or "all of mail.raw"


class ReplayRow(BaseModel):
    """One mail: what was recorded and what today's rules decide."""

    email_id: str
    gateway_id: str
    from_address: str = ""
    subject: str = ""
    received_at: datetime | None = None
    old_decision: str
    old_rule: str = ""
    old_reason: str = ""
    new_decision: str
    new_rule: str
    new_reason: str
    ticket_id: str | None = None
    action: RowAction
    note: str = ""


class GoneMail(BaseModel):
    """A selected mail that cannot be replayed: its bytes are gone or unreadable."""

    email_id: str
    gateway_id: str = ""
    received_at: datetime | None = None
    old_decision: str = NO_OUTCOME
    why: str


class MatrixCell(BaseModel):
    old: str
    new: str
    count: int


class ApplyResult(BaseModel):
    """What --apply did: commands sent, and the outcomes the router wrote for them."""

    sent: int = 0
    confirmed: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict, description="decision -> count")
    unconfirmed: list[str] = Field(default_factory=list, description="email ids, on timeout")


class ReplayReport(BaseModel):
    """Everything a replay found; `changed` lists only the mails that changed."""

    replay_id: str
    mode: Literal["dry-run", "apply"] = "dry-run"
    requested_by: str = ""
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    selection: ReplaySelection = ReplaySelection()
    scanned: int = Field(0, description="records read from mail.raw")
    selected: int = Field(0, description="distinct mails the selection matched")
    counts: dict[str, int] = Field(
        default_factory=dict, description="action (apply, unchanged, keep, gone) -> mails"
    )
    matrix: list[MatrixCell] = Field(default_factory=list)
    changed: list[ReplayRow] = Field(default_factory=list)
    gone: list[GoneMail] = Field(default_factory=list)
    applied: ApplyResult | None = None
    seconds: float = 0.0

    def to_csv(self) -> str:
        """The changed mails, one per line, then the gone ones (action 'gone')."""
        out = io.StringIO()
        cols = list(ReplayRow.model_fields)
        writer = csv.writer(out)
        writer.writerow(cols)
        for row in self.changed:
            data = row.model_dump(mode="json")
            writer.writerow(["" if data[c] is None else data[c] for c in cols])
        for gone in self.gone:
            data = dict.fromkeys(cols, "")
            data |= {"email_id": gone.email_id, "gateway_id": gone.gateway_id, "action": "gone",
                     "old_decision": gone.old_decision, "note": gone.why}  # fmt: skip
            writer.writerow([data[c] for c in cols])
        return out.getvalue()

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"replay {self.replay_id} ({self.mode}): {self.selection.describe()}",
            f"  {self.scanned} records read, {self.selected} mails selected in "
            f"{self.seconds:.1f}s; "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())),
            "  recorded -> replayed:",
        ]
        lines += [f"    {c.old:>22} -> {c.new:<22} {c.count}" for c in self.matrix]
        if self.applied is not None:
            a = self.applied
            lines.append(
                f"  applied: {a.sent} sent, {a.confirmed} confirmed ("
                + ", ".join(f"{k} {v}" for k, v in sorted(a.outcomes.items()))
                + ")"
                + (f", {len(a.unconfirmed)} unconfirmed" if a.unconfirmed else "")
            )
        return "\n".join(lines)
