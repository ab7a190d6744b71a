"""The router's side of an applied replay: a ReplayCommand decided again, for real.

The command goes through the same rules and outputs as mail.raw (so the same ids:
the ticket id derives from the email id, the notice id too), with three differences:
- a mail that has a ticket or message already (opened from mail, or converted by
  staff) is not decided again: its outcome says so and nothing else is emitted;
- the ledger item carries the replay id, so rule 7 decides again a mail it refused
  for want of incidents (never one that opened a ticket; see incidents.check);
- outcomes carry the replay id (the store replaces the recorded outcome with them),
  and no dead letter is written again (the first run wrote one).
"""

from __future__ import annotations

from schemas.events import Decision, Outcome
from schemas.replay import ReplayCommand
from services.router.directory import InMemoryDirectory
from services.router.ledger import ChargeRequest, dumps_item, loads_item
from services.router.outputs import LEDGER, Out
from services.router.pipeline import Router

NAME = "replay"


class Replayer:
    def __init__(self, router: Router, directory: InMemoryDirectory) -> None:
        self.router = router
        self.directory = directory

    def decode(self, value: bytes | None) -> ReplayCommand | None:
        try:
            return ReplayCommand.model_validate_json(value or b"")
        except ValueError:
            return None  # not ours to judge: nothing was recorded for it

    def handle(self, cmd: ReplayCommand) -> list[Out]:
        raw = cmd.raw
        ticket = self.directory.ticket_for_email(raw.email_id)
        if ticket:
            return [self._kept(cmd, ticket)]
        return mark(self.router.route(raw), cmd.replay_id)

    def _kept(self, cmd: ReplayCommand, ticket: str) -> Out:
        outcome = Outcome(
            email_id=cmd.raw.email_id,
            gateway_id=cmd.raw.gateway_id,
            decision=Decision.MESSAGE_ADDED
            if cmd.raw.email_id in self.directory.email_messages
            else Decision.TICKET_OPENED,
            rule=NAME,
            reason=f"in ticket {ticket} already: not decided again",
            ticket_id=ticket,
            client_id=self.directory.ticket_client(ticket),
            replay_id=cmd.replay_id,
        )
        return Out("outcomes", cmd.raw.email_id, outcome)


def mark(outs: list[Out], replay_id: str) -> list[Out]:
    """The outputs of a replayed mail: outcomes and ledger items stamped, no dead letter."""
    marked: list[Out] = []
    for out in outs:
        if out.topic == "dead":
            continue
        if out.topic == "outcomes" and isinstance(out.event, Outcome):
            event = out.event.model_copy(update={"replay_id": replay_id})
            marked.append(Out(out.topic, out.key, event))
        elif out.topic == LEDGER:
            item, ticket = loads_item(out.value())
            if isinstance(item, ChargeRequest):
                item = item.model_copy(update={"replay_id": replay_id})
            marked.append(Out(LEDGER, out.key, out.event, dumps_item(item, ticket)))
        else:
            marked.append(out)
    return marked
