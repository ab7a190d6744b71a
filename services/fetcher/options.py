"""Fetcher-only knobs, kept out of the shared Settings so other services never see them.

Read from SUPPORTDESK_FETCHER_* variables (one per field, upper case) by
`FetcherOptions.from_env()`; tests construct the dataclass directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from kernel.config import Settings

# Called with (event, gateway_id) at fixed points of a poll; tests use it to inject faults.
Hook = Callable[[str, str], None]


@dataclass
class FetcherOptions:
    # Consumer group sharing the directory.gateways partitions; "" derives one from the topic.
    group_id: str = ""
    # kill -9 of a fetcher hands its gateways over after this (the issue asks < 30 s).
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 120_000
    # At most this many mails (and about this many bytes) per Kafka transaction.
    batch_mails: int = 200
    batch_bytes: int = 32 * 1024 * 1024
    # The first batch of a poll is smaller, so a backlog's first mail is out sooner.
    first_batch_mails: int = 20
    # Retry delay after a failure: base * 2^(n-1), capped, times a random factor in [0.5, 1].
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    # IMAP IDLE where the server offers it; polling stays the safety net.
    idle: bool = True
    # Re-issue IDLE this often (RFC 2177: servers may drop an IDLE after 30 minutes).
    idle_renew_s: float = 600.0
    # Socket timeout for IMAP/POP3 connections.
    timeout_s: float = 30.0
    # How long a revoke waits for a gateway thread to stop before relying on fencing.
    stop_timeout_s: float = 60.0
    # Health records are re-published at least this often while nothing changes.
    health_every_s: float = 60.0
    # prometheus-client HTTP port; 0 disables the endpoint.
    metrics_port: int = 0
    # Test-only fault injection, e.g. "kill-after-commit:1" (SIGKILL after the first commit).
    fault: str = ""
    hook: Hook | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FetcherOptions:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "hook":
                continue
            raw = env.get(f"SUPPORTDESK_FETCHER_{f.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls, f.name)
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    def group(self, settings: Settings) -> str:
        """Unique per directory topic, so isolated test topics get isolated groups."""
        return self.group_id or f"supportdesk-fetcher.{settings.topics.gateways}"

    def transactional_id(self, settings: Settings, gateway_id: str) -> str:
        """One per gateway: a new owner's init_transactions() fences any old one."""
        return f"supportdesk-fetcher.{settings.topics.raw}.{gateway_id}"
