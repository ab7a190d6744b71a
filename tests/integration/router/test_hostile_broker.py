"""Issue 10 over a real broker: bounces with no standard header, NUL, a display name
alone and a mail over a limit (set through the environment) each get one outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.router.harness import RouterEnv, mail, outcomes_by_email, raw_email
from tests.unit.router.hostile import many_parts

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).parents[2] / "corpus" / "bounces"


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> Iterator[RouterEnv]:
    e = RouterEnv(kafka_bootstrap, tmp_path)
    yield e
    e.close()


def test_odd_mail_over_the_broker(env: RouterEnv) -> None:
    env.add_client("alice@example.com", 7)
    env.add_department(1, per_incident=False)
    env.add_department(2, per_incident=True)  # no incidents: a missed bounce gets a notice
    env.flush()
    bounces = {p.stem: raw_email(p.read_bytes(), department_id=2) for p in CORPUS.glob("*.eml")}
    nul = mail(subject="Hel\x00lo", body="Body\x00 with NUL\x01")
    cases = {
        "nul": raw_email(nul),
        "display_only": raw_email(mail(frm="Alice Example")),
        "too_many_parts": raw_email(many_parts(21)),
    }
    env.start_router(SUPPORTDESK_MAIL_LIMITS__PARTS_PER_MAIL="20")
    for raw in [*bounces.values(), *cases.values()]:
        env.send_raw(raw)
    env.flush()
    total = len(bounces) + len(cases)
    records = env.read("outcomes", lambda r: len(outcomes_by_email(r)) >= total, timeout=180)
    by_email = outcomes_by_email(records)
    assert all(by_email[r.email_id][0]["decision"] == "automatic" for r in bounces.values())
    got = {name: by_email[raw.email_id][0] for name, raw in cases.items()}
    assert got["nul"]["decision"] == "ticket_opened"
    assert got["display_only"]["decision"] == "incoming"
    assert "From has no usable address" in got["display_only"]["reason"]
    assert got["too_many_parts"]["decision"] == "malformed"
    assert "parts_per_mail" in got["too_many_parts"]["reason"]

    commands = env.read("ticket_commands", lambda r: len(r) >= 1, timeout=30)
    content = next(v for _, v in commands if v["email_id"] == cases["nul"].email_id)["content"]
    assert content["subject"] == "Hello" and content["text"].startswith("Body with NUL")
    assert "\\u0000" not in json.dumps(commands)
    dead = env.read("dead", lambda r: len(r) >= 1, timeout=30)
    assert [k for k, _ in dead] == [cases["too_many_parts"].email_id]
    assert env.read_all("outbound", settle_s=2) == []
