"""Gateway health as shown: stale after N poll intervals (a minute at least), the mode,
the last poll, the lag; and which dead letters offer reprocessing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.ticket_store.models import Gateway
from services.ticket_store.models_operations import DeadLetterRecord, GatewayHealthRecord
from services.ticket_store.presenters.operations import dead_letter_out, gateway_health_out
from services.ticket_store.queries.gateway_health import GatewayFacts

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _facts(interval: int, reported_ago_s: float, **health: object) -> GatewayFacts:
    gw = Gateway(id="g", name="support", poll_interval_s=interval, enabled=True)
    fields: dict[str, object] = {
        "owner": "host",
        "status": "ok",
        "idle": False,
        "last_error": "",
        "consecutive_failures": 0,
        "mails_taken": 0,
    }
    h = GatewayHealthRecord(
        gateway_id="g", reported_at=NOW - timedelta(seconds=reported_ago_s), **(fields | health)
    )  # fmt: skip
    return GatewayFacts(gw, h, 2, 5, 1, NOW - timedelta(seconds=90))


def test_stale_after_three_poll_intervals_of_at_least_a_minute() -> None:
    assert not gateway_health_out(_facts(300, 899), NOW).stale
    late = gateway_health_out(_facts(300, 901), NOW)
    assert (late.stale, late.state) == (True, "stale")
    assert not gateway_health_out(_facts(10, 179), NOW).stale  # reports come every minute
    assert gateway_health_out(_facts(10, 181), NOW).stale


def test_mode_last_poll_and_lag() -> None:
    errored = NOW - timedelta(seconds=30)
    out = gateway_health_out(
        _facts(60, 5, idle=True, last_success=NOW - timedelta(minutes=5), last_error_at=errored),
        NOW,
    )
    assert (out.mode, out.last_poll, out.lag_s, out.undecided) == ("IDLE", errored, 90, 1)
    polling = gateway_health_out(_facts(120, 5), NOW)
    assert (polling.mode, polling.last_poll) == ("polling every 120s", None)


def test_disabled_and_never_reported() -> None:
    f = _facts(60, 10_000)
    f.gateway.enabled = False
    assert gateway_health_out(f, NOW).state == "disabled"
    never = GatewayFacts(Gateway(id="n", name="n", poll_interval_s=60, enabled=True), None,
                         0, 0, 0, None)  # fmt: skip
    assert (gateway_health_out(never, NOW).state, gateway_health_out(never, NOW).lag_s) == (
        "never reported", 0,
    )  # fmt: skip


def test_which_dead_letters_offer_reprocessing() -> None:
    def letter(stage: str, email_id: str, payload: bytes | None = None, status: str = "open"):
        return DeadLetterRecord(
            id=1, email_id=email_id, stage=stage, gateway_id="", reason="r", status=status,
            occurrences=1, first_at=NOW, last_at=NOW, source_topic="", payload=payload,
            reprocess_count=0, reprocessed_by="", result="",
        )  # fmt: skip

    assert dead_letter_out(letter("router.parse", "e1")).reprocessable
    assert dead_letter_out(letter("store:tickets.commands", "e1", b"{}")).reprocessable
    assert not dead_letter_out(letter("router.incidents", "grant-1")).reprocessable
    assert not dead_letter_out(letter("router.ledger", "ledger-1")).reprocessable
    assert not dead_letter_out(letter("router.parse", "e1", status="resolved")).reprocessable
