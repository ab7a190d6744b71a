"""Routers that live through a broker SIGKILL wait for it and go on routing when it is back
(issue 12, item 2; docs/chaos.md: a running router exited with faust's "Unable to
bootstrap", and one that lived through the kill routed nothing afterwards)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from devtools.net import free_port
from devtools.pipeline import ServiceProcess, wait_until
from kernel.lag import sample
from supportdesk.broker import LocalBroker
from tests.fixtures.parts import starting
from tests.integration.router.harness import RouterEnv, mail, outcomes_by_email, raw_email

# Its own broker, killed and started again, and a bound on the recovery: alone on the machine.
pytestmark = [pytest.mark.integration, pytest.mark.serial]

MAILS = 300
RATE = 30.0  # mails a second: the broker dies with mail flowing
KILL_AFTER = 120  # mails sent before the SIGKILL
OUTAGE_S = 8.0
RECOVERY_BOUND_S = 60.0
PAYER = 7


def health(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as res:
            return str(json.loads(res.read())["state"])
    except urllib.error.HTTPError as err:
        return str(json.loads(err.read())["state"])
    except (OSError, ValueError):
        return "down"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    b = LocalBroker(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    with starting("Kafka"):
        b.start()
        b.wait_ready(120)
    yield b
    b.stop()


def publish(
    bootstrap: str, env: RouterEnv, ids: list[str], down: threading.Event, up: threading.Event
) -> None:
    """Half from a paying client (ledger, tables), half from strangers (incoming), a few
    mails per transaction as a fetcher writes them (mail.raw holds commit markers).
    Pauses from the broker's death until its return (a fetcher's own retry is not tested)."""
    producer: KafkaProducer | None = None
    n = 0
    while n < MAILS:
        if down.is_set() and not up.is_set():
            if producer is not None:
                producer.close(0)
                producer = None
            up.wait(120)
            continue
        if producer is None:
            producer = KafkaProducer(
                bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                transactional_id=f"outage-{env.run_id}",
            )  # fmt: skip
            producer.init_transactions()
        batch = []
        for k in range(n, min(n + 3, MAILS)):
            if k % 2:
                raw = raw_email(mail(frm="payer@example.com"), department_id=2, gateway_id="gw2")
            else:
                raw = raw_email(mail(frm=f"stranger{k}@example.org"), department_id=1)
            batch.append(raw)
        try:
            producer.begin_transaction()
            for k, raw in enumerate(batch, start=n):
                # Every partition gets mail, so each router has some (keyed by gateway,
                # the two gateways could share one router).
                producer.send(env.topics["raw"], key=raw.gateway_id.encode(),
                              value=raw.model_dump_json().encode(),
                              partition=k % 4)  # fmt: skip
            producer.commit_transaction()
        except Exception:  # noqa: BLE001 - the broker died mid-transaction: sent again later
            producer.close(0)
            producer = None
            up.wait(120)
            continue
        ids.extend(raw.email_id for raw in batch)
        n += len(batch)
        time.sleep(len(batch) / RATE)
    if producer is not None:
        producer.close()


def test_routers_live_through_a_broker_kill_and_route_every_mail(
    broker: LocalBroker, tmp_path: Path
) -> None:
    env = RouterEnv(broker.bootstrap, tmp_path, partitions=4)
    env.add_department(1, per_incident=False)
    env.add_department(2, per_incident=True, notice="No incidents left.")
    env.add_client("payer@example.com", PAYER)
    env.grant(PAYER, MAILS, grant_id="g-all")
    env.flush()
    ports = [free_port(), free_port()]

    def start_router(i: int) -> ServiceProcess:
        env_i = env.env(
            SUPPORTDESK_INSTANCE_NAME=f"outage-{i}",
            SUPPORTDESK_HEALTH_PORT=str(ports[i]),
            SUPPORTDESK_VAR_DIR=str(tmp_path / "var"),
        )
        return ServiceProcess("router", env_i, tmp_path, f"router-{i}")

    routers = [start_router(0), start_router(1)]
    ids: list[str] = []
    down, up = threading.Event(), threading.Event()
    publisher = threading.Thread(target=publish, args=(broker.bootstrap, env, ids, down, up))
    try:
        for port in ports:
            wait_until(lambda port=port: health(port) == "running", 60, "routers running")
        # Both in the group and routing before the broker dies.
        wait_until(lambda: all("route agent" in r.log() for r in routers), 60, "router stats")
        publisher.start()
        wait_until(lambda: len(ids) >= KILL_AFTER, 60, "the first mails sent")
        down.set()
        broker._proc.kill()  # SIGKILL: no controlled shutdown  # noqa: SLF001
        broker._proc.wait(30)  # noqa: SLF001
        broker.stop()  # closes the launcher's handles; the JVM is already gone
        killed = time.monotonic()
        # As in the chaos run: the other router dies with the broker and is started again
        # while it is down (same instance name: a static member rejoining).
        routers[1].kill9()
        routers[1].stop()
        time.sleep(2)
        routers[1] = start_router(1)
        waiting = set()
        while time.monotonic() - killed < OUTAGE_S:
            for i, (router, port) in enumerate(zip(routers, ports, strict=True)):
                assert router.proc.poll() is None, f"router-{i} exited:\n{router.log()[-4000:]}"
                if health(port) == "waiting for broker":
                    waiting.add(i)
            time.sleep(0.5)
        broker.start()
        broker.wait_ready(120)
        back = time.monotonic()
        up.set()
        publisher.join(120)
        assert len(ids) == MAILS
        all_sent = time.monotonic()

        def decided() -> bool:
            for i, router in enumerate(routers):
                assert router.proc.poll() is None, f"router-{i} exited:\n{router.log()[-4000:]}"
            got = outcomes_by_email(env.read("outcomes", lambda r: True, timeout=3))
            return all(i in got for i in ids)

        try:
            wait_until(decided, RECOVERY_BOUND_S, "an outcome for every mail", step=1.0)
        except AssertionError:
            got = outcomes_by_email(env.read("outcomes", lambda r: True, timeout=3))
            missing = [i for i in ids if i not in got]
            tails = "\n".join(r.log()[-3000:] for r in routers)
            raise AssertionError(f"{len(missing)} of {MAILS} mails undecided:\n{tails}") from None
        took = time.monotonic() - back
        print(
            f"every mail decided {took:.1f}s after the broker's return, "
            f"{time.monotonic() - all_sent:.1f}s after the last was sent"
        )
        # Commits keep up: within a few commit intervals every partition is committed up to
        # its last record (faust never commits the commit marker after it: no record
        # follows), else every restart routes the backlog again (transport.py).
        raw = {env.topics["raw"]}
        lag: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lag = sample(broker.bootstrap, env.app_id, raw)
            if len(lag) == 4 and all(n <= 1 for n in lag.values()):
                break
            time.sleep(1)
        assert len(lag) == 4 and all(n <= 1 for n in lag.values()), f"commits behind: {lag}"
        outcomes = outcomes_by_email(env.read_all("outcomes"))
        for email_id in ids:  # redelivery may repeat an outcome, never change it
            decisions = {o["decision"] for o in outcomes[email_id]}
            assert len(decisions) == 1, (email_id, outcomes[email_id])
        assert {o["decision"] for i in ids for o in outcomes[i]} == {"ticket_opened", "incoming"}
        assert 0 in waiting, "the surviving router never said it was waiting for the broker"
        # The one started during the outage waited before its worker started.
        assert "waiting for broker at" in routers[1].log()
        for i, router in enumerate(routers):
            assert router.proc.poll() is None, f"router-{i} exited:\n{router.log()[-4000:]}"
            assert health(ports[i]) == "running"
        # The survivor: one line when the broker went, one when it came back, no flood.
        log = routers[0].log()
        assert log.count("waiting for broker at") == 1, log[-4000:]
        assert log.count("is back after") == 1, log[-4000:]
        assert log.count("Unable connect to node") < 200, log[-4000:]
    finally:
        for router in routers:
            router.stop()
        up.set()
        if publisher.is_alive():
            publisher.join(10)
        env.producer.close()
