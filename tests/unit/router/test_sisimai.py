"""Every mail of the sisimai bounce corpus through the router: no crash, one outcome, no mail out.

The corpus is read in place from the shared directory (never copied into the
repository); a missing corpus fails the test rather than skipping it.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from schemas.events import DepartmentEntry
from services.router.ledger import Ledger
from services.router.mail import parse
from services.router.pipeline import Router
from tests.unit.router.helpers import KEY, directory, raw_event, route_and_settle

CORPUS = Path(os.environ.get("SISIMAI_MAILDIR", "/work/shared/corpora/sisimai-bounces/maildir"))


def corpus() -> list[Path]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    if not files:
        pytest.fail(f"sisimai corpus not found at {CORPUS}", pytrace=False)
    return files


def run_all(make_router, gateway_for) -> tuple[collections.Counter, int, int]:
    counts: collections.Counter = collections.Counter()
    automatic = outbound = 0
    for path in corpus():
        data = path.read_bytes()
        router, led = make_router(path, data)
        raw = raw_event(data, address=gateway_for(data), department_id=2)
        final = route_and_settle(router, raw.model_dump_json().encode(), led)
        outcomes = [o.event for o in final if o.topic == "outcomes"]
        assert len(outcomes) == 1, path
        outbound += sum(o.topic == "outbound" for o in final)
        counts[outcomes[0].decision.value] += 1
        automatic += outcomes[0].automatic or outcomes[0].decision.value == "automatic"
    return counts, automatic, outbound


def test_corpus_default_gateway() -> None:
    """As delivered to a gateway for support@company.net with no known clients."""
    router = Router(directory(clients={}), KEY)
    counts, automatic, outbound = run_all(
        lambda p, d: (router, Ledger({}, {}, {}, {})), lambda d: "support@company.net"
    )
    total = sum(counts.values())
    print(f"\nsisimai: {total} mails, {automatic} automatic, outcomes {dict(counts)}")
    assert total == len(corpus()) and outbound == 0
    assert automatic == total  # 666 of 666 on 2026-12-02


PAID = DepartmentEntry(department_id=2, name="paid", per_incident=True)


def test_corpus_worst_case_sender_is_a_client_with_no_incidents() -> None:
    """Each mail addressed to the gateway, from a registered client, in a paid
    department with no incidents left: only mail not recognised as automatic may
    reach the incidents rule, so only it could cause a notice."""

    def make(path: Path, data: bytes):
        sender = parse(data).from_address
        d = directory(clients={sender: 7} if "@" in sender else {}, departments=[PAID])
        return Router(d, KEY), Ledger({}, {}, {}, {})

    def to_of(data: bytes) -> str:
        tos = parse(data).to_addresses
        return tos[0] if tos and "@" in tos[0] else "support@company.net"

    counts, automatic, outbound = run_all(make, to_of)
    total = sum(counts.values())
    print(
        f"\nsisimai worst case: {automatic}/{total} automatic, {outbound} notices, {dict(counts)}"
    )
    assert outbound == counts["insufficient_incidents"] == 0
    assert automatic == total
