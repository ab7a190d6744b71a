"""A rule change checked on the last 90 days of mail before it ships: the dry run with
the changed rule lists exactly the mails it would change, skips older mail, reports a
mail whose blob is gone, and leaves every topic as it was.

Real broker; the dry run in this process (the changed rule is this test's), and the
same selection through the CLI with today's rules.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel.config import Settings
from schemas.events import ClientEntry, GatewayEntry, Outcome
from schemas.replay import ReplaySelection
from services.router.pipeline import RULES
from services.router.replay.engine import dry_run
from services.router.rules import recipient
from services.router.rules.base import Verdict
from tests.fixtures.pipeline import Pipeline
from tests.integration.replay.helpers import end_offsets, mail, matrix, publish, raw, replay

GW, ADDRESS = "gw-cc", "support@company.net"
DAY_MS = 24 * 3600 * 1000


class CcToo:
    """The change under review: mail that only Cc's the gateway is accepted too."""

    NAME = recipient.NAME

    @staticmethod
    def check(mail, ctx) -> Verdict | None:  # noqa: ANN001 - a rule's interface
        if ADDRESS in mail.header("Cc").lower():
            return None
        return recipient.check(mail, ctx)


def _seed(settings: Settings) -> dict[str, str]:
    now = int(time.time() * 1000)
    entry = GatewayEntry(gateway_id=GW, name="cc", type="local", protocol="maildir",
                         address=ADDRESS, department_id=1)  # fmt: skip
    publish(settings, settings.topics.gateways, [(GW, entry.model_dump_json().encode(), None)])
    alice = ClientEntry(email="alice@example.org", client_id=7, name="Alice")
    publish(settings, settings.topics.clients,
            [("alice@example.org", alice.model_dump_json().encode(), None)])  # fmt: skip
    cc = mail("alice@example.org", "bob@example.org", "Cc'd", cc=ADDRESS)
    mails = {
        "old": (raw(GW, ADDRESS, 1, cc), now - 100 * DAY_MS),
        "cc": (raw(GW, ADDRESS, 1, cc), now - 10 * DAY_MS),
        "other": (raw(GW, ADDRESS, 1, mail("alice@example.org", "bob@example.org", "not us")),
                  now - 10 * DAY_MS),
        "gone": (raw(GW, ADDRESS, 1, cc).model_copy(
            update={"raw_b64": None, "blob_ref": "sha256:" + "0" * 64}), now - 5 * DAY_MS),
    }  # fmt: skip
    publish(settings, settings.topics.raw,
            [(GW, r.model_dump_json().encode(), ts) for r, ts in mails.values()])  # fmt: skip
    outcomes = [
        Outcome(email_id=r.email_id, gateway_id=GW, decision="ignored_recipient", rule="recipient",
                decided_at=datetime.fromtimestamp(ts / 1000, UTC))
        for r, ts in mails.values()
    ]  # fmt: skip
    publish(settings, settings.topics.outcomes,
            [(o.email_id, o.model_dump_json().encode(), None) for o in outcomes])  # fmt: skip
    return {name: r.email_id for name, (r, _) in mails.items()}


def test_a_rule_change_on_the_last_90_days(pipeline: Pipeline, tmp_path: Path) -> None:
    settings = pipeline.settings
    ids = _seed(settings)
    offsets = end_offsets(settings)
    since = datetime.now(UTC) - timedelta(days=90)
    rules = tuple(CcToo if rule is recipient else rule for rule in RULES)
    report = dry_run(settings, ReplaySelection(since=since), rules=rules).report_
    assert report.selected == 3  # the mail of 100 days ago is not read
    assert [(r.email_id, r.new_decision) for r in report.changed] == [(ids["cc"], "ticket_opened")]
    assert [g.email_id for g in report.gone] == [ids["gone"]]
    assert report.counts == {"apply": 1, "unchanged": 1, "gone": 1}
    assert end_offsets(settings) == offsets

    # Today's rules through the CLI, same 90 days: nothing would change.
    today = replay(pipeline, tmp_path / "reports", "--since", "90d")
    assert matrix(today) == {("ignored_recipient", "ignored_recipient"): 2}
    assert [g["email_id"] for g in today["gone"]] == [ids["gone"]]
    assert end_offsets(settings) == offsets
