"""The router's own topics (the ledger and the tables' changelogs), made before the worker starts.

faust 0.15.3 creates them itself, but on a busy broker its consumer can subscribe
before their metadata arrives: it logs "Ignoring missing topic" for the ledger and
never reads it, so no ticket ever opens. Made here first, they exist when it subscribes.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.topics import create_missing

COMPACT = {"cleanup.policy": "compact"}


def ensure_internal_topics(
    bootstrap: str,
    ledger: str,
    changelogs: Iterable[str],
    partitions: int,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create whichever of the ledger and changelog topics is missing; return those created."""
    wanted = {ledger: {}} | {name: COMPACT for name in changelogs}
    return create_missing(bootstrap, wanted, partitions, timeout_s=timeout_s)
