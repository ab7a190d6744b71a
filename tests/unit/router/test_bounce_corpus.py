"""Our own bounce corpus (tests/corpus/bounces, see its README): every mail is automatic.

Worst case for each: the sender is a registered client of a paid department
with no incidents left, so a mail not recognised would get a notice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.events import DepartmentEntry
from services.router.mail import parse
from services.router.pipeline import Router
from services.router.rules.automatic import bounce_reason
from tests.unit.router.helpers import KEY, directory, raw_event, route_and_settle

CORPUS = Path(__file__).parents[2] / "corpus" / "bounces"
FILES = sorted(CORPUS.glob("*.eml"))
PAID = DepartmentEntry(department_id=2, name="paid", per_incident=True)


def test_corpus_is_there() -> None:
    assert len(FILES) >= 22


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_is_a_bounce(path: Path) -> None:
    data = path.read_bytes()
    mail = parse(data)
    assert "@" in mail.from_address
    assert bounce_reason(mail), path.name
    router = Router(directory(clients={mail.from_address: 7}, departments=[PAID]), KEY)
    final = route_and_settle(router, raw_event(data, department_id=2).model_dump_json().encode())
    outcomes = [o.event for o in final if o.topic == "outcomes"]
    assert len(outcomes) == 1 and outcomes[0].decision.value == "automatic"
    assert {o.topic for o in final} == {"outcomes"}  # no notice, no ticket, no charge
