"""SIGUSR2 on a router: where a stuck worker waits (consumer state, every task's stack)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


def dump_tasks(app: Any, raw_topic: str) -> None:
    """Log the consumer's assignment, paused and active partitions, mail.raw positions,
    and every asyncio task's stack."""
    try:
        consumer = app.consumer
        inner = consumer._thread._consumer if hasattr(consumer, "_thread") else None  # noqa: SLF001
        log.warning(
            "consumer: assignment=%s paused=%s active=%s flow_active=%s",
            sorted(map(str, consumer.assignment())),
            sorted(map(str, inner.paused())) if inner is not None else "?",
            sorted(map(str, getattr(consumer, "_active_partitions", None) or ())),
            app.flow_control.is_active(),
        )
        if inner is not None:
            for tp in inner.assignment():
                if tp.topic == raw_topic:
                    log.warning(
                        "raw %s position=%s highwater=%s last_stable=%s",
                        tp,
                        inner._subscription.subscription.assignment.state_value(tp).position,  # noqa: SLF001
                        inner.highwater(tp),
                        inner.last_stable_offset(tp),
                    )
    except Exception:  # noqa: BLE001 - diagnostics only
        log.exception("consumer state unavailable")
    for task in asyncio.all_tasks():
        lines, coro = [], task.get_coro()
        while coro is not None and len(lines) < 40:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
            if frame is not None:
                code = frame.f_code
                lines.append(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        log.warning("task %s:\n%s", task.get_name(), "\n".join(lines))
