"""Several fetcher processes share the gateways through a consumer group; kill -9 hands over."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from kernel.config import Settings
from schemas.events import GatewayEntry
from services.fetcher.state import partition_for
from tests.fixtures.dovecot import DovecotServer
from tests.integration.fetcher.conftest import (
    PARTITIONS,
    imap_entry,
    mail,
    publish_gateways,
    read_raw,
    wait_for,
)
from tests.integration.fetcher.procs import FetcherProc, fetcher_env, owners


def spread_ids(per_partition: int) -> list[str]:
    """Gateway ids that put exactly ``per_partition`` gateways in each partition."""
    chosen: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    i = 0
    while any(len(v) < per_partition for v in chosen.values()):
        gid = f"gw{i:04d}"
        p = partition_for(gid.encode(), PARTITIONS)
        if len(chosen[p]) < per_partition:
            chosen[p].append(gid)
        i += 1
    return [g for ids in chosen.values() for g in ids]


def eight_gateways(settings: Settings, server: DovecotServer) -> list[GatewayEntry]:
    ids = spread_ids(2)
    server.add_users({f"{gid}@company.net": f"pw-{gid}" for gid in ids})
    return [
        imap_entry(
            settings,
            server,
            name=gid,
            gateway_id=gid,
            username=f"{gid}@company.net",
            password=f"pw-{gid}",
        )
        for gid in ids
    ]


def owner_counts(settings: Settings, procs: list[FetcherProc]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for h in owners(settings).values():
        for p in procs:
            if h.owner.endswith(p.owner_suffix()) and h.status == "ok":
                counts[p.pid] += 1
    return counts


def test_two_fetchers_split_eight_gateways_and_survive_kill9(
    fetch_settings: Settings, dovecot: DovecotServer, tmp_path: Path
) -> None:
    gateways = eight_gateways(fetch_settings, dovecot)
    publish_gateways(fetch_settings, *gateways)
    env = fetcher_env(fetch_settings, str(dovecot.ca_path))
    a = FetcherProc(env, tmp_path, "fetcher-a")
    b = None
    try:
        wait_for(lambda: owner_counts(fetch_settings, [a])[a.pid] == 8, 60, "A owns all 8")
        b = FetcherProc(env, tmp_path, "fetcher-b")
        # Starting a second fetcher splits the gateways (2 partitions of 4 each).
        wait_for(
            lambda: owner_counts(fetch_settings, [a, b]) == Counter({a.pid: 4, b.pid: 4}),
            60,
            f"a 4/4 split; A log:\n{a.log()}",
        )
        for g in gateways:
            for i in range(5):
                dovecot.save(g.username, mail(i, tag=f"{g.gateway_id}-a"))
        wait_for(lambda: len(read_raw(fetch_settings)) >= 40, 30, "40 mails before the kill")
        a_gateways = {
            gid for gid, h in owners(fetch_settings).items() if h.owner.endswith(a.owner_suffix())
        }
        a.kill9()
        killed_at = time.monotonic()
        for g in gateways:
            for i in range(5):
                dovecot.save(g.username, mail(i, tag=f"{g.gateway_id}-b"))
        # Every gateway of A is polled by B within 30 s of the kill.
        wait_for(
            lambda: owner_counts(fetch_settings, [b])[b.pid] == 8,
            30,
            f"B owns all 8 after the kill; B log:\n{b.log()}",
        )
        handover = time.monotonic() - killed_at
        print(f"handover after kill -9: {handover:.1f}s")
        assert handover < 30, handover
        wait_for(lambda: len(read_raw(fetch_settings)) >= 80, 30, "all 80 mails")
        time.sleep(1)
        raws = read_raw(fetch_settings)
        assert len(raws) == len({r.email_id for r in raws}) == 80
        per_gateway = Counter(r.gateway_id for r in raws)
        assert set(per_gateway.values()) == {10} and len(per_gateway) == 8
        assert len(a_gateways) == 4
        for g in gateways:
            assert all("\\Seen" in f for f in dovecot.flags(g.username).values())
    finally:
        a.stop()
        if b is not None:
            b.stop()
