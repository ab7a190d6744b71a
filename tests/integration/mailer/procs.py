"""Mailer processes (`python -m supportdesk.cli mailer`) on the real broker against an
aiosmtpd sink with a gate in front of it: what the two-mailer tests share."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.pipeline import ServiceProcess
from kernel.topics import create_missing, topic_config_for
from schemas import codec
from schemas.events import OutboundEmail
from tests.fixtures.parts import free_port
from tests.fixtures.smtp import SmtpSink


def mailer_env(
    bootstrap: str, prefix: str, sink: SmtpSink, work: Path, partitions: int, session_s: float,
    retry_s: float,
) -> tuple[dict[str, str], dict[str, str]]:  # fmt: skip
    """Scratch outbound, ledger and delivery topics, and the environment of a mailer
    using them: (topic names by field, environment)."""
    topics = {"outbound": f"{prefix}outbound", "sent": f"{prefix}sent",
              "delivery": f"{prefix}delivery"}  # fmt: skip
    create_missing(
        bootstrap, {name: topic_config_for(field) for field, name in topics.items()}, partitions
    )
    env = {
        "SUPPORTDESK_KAFKA_BOOTSTRAP": bootstrap,
        "SUPPORTDESK_MAILER_GROUP_ID": f"{prefix}mailer",
        "SUPPORTDESK_SMTP_HOST": sink.host,
        "SUPPORTDESK_SMTP_PORT": str(sink.port),
        "SUPPORTDESK_MESSAGE_ID_DOMAIN": "desk.test",
        "SUPPORTDESK_MAILER_SESSION_TIMEOUT_S": str(session_s),
        "SUPPORTDESK_MAILER_RETRY_FIRST_S": str(retry_s),
        "SUPPORTDESK_VAR_DIR": str(work / "var"),
        **{f"SUPPORTDESK_TOPICS__{field.upper()}": name for field, name in topics.items()},
    }
    return topics, env


class Gate:
    """In front of the sink's DATA: open, hold (the client waits for the answer to its
    dot) or refuse (451). ``held_answer``, if set, is what the transactions held so far
    get when the hold ends. A held message whose client goes away is kept, as Postfix,
    Exim and Sendmail keep it: they commit the queue file on the dot, before the 250."""

    def __init__(self, sink: SmtpSink) -> None:
        self.mode = "open"
        self.held = 0
        self.held_answer: str | None = None
        inner = sink._handler.handle_DATA  # noqa: SLF001 - wrapping the sink's own hook

        async def handle_DATA(server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            if self.mode == "refuse":
                return "451 4.3.0 Try again later"
            if self.mode == "hold":
                self.held += 1
                try:  # aiosmtpd cancels this when the client goes away
                    while self.mode == "hold":
                        await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    await inner(server, session, envelope)  # taken with its dot
                    raise
                finally:
                    self.held -= 1
                if self.held_answer is not None:
                    return self.held_answer
            return await inner(server, session, envelope)

        sink._handler.handle_DATA = handle_DATA  # type: ignore[method-assign]  # noqa: SLF001


class MailerProc(ServiceProcess):
    """``static``: a static group member named after the instance (as in production and
    the chaos run), so a process started again under the name takes its place."""

    def __init__(
        self, name: str, env: dict[str, str], workdir: Path, static: bool = False,
        log_name: str | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.port = free_port()
        own = {"SUPPORTDESK_HEALTH_PORT": str(self.port)}
        if static:
            own["SUPPORTDESK_INSTANCE_NAME"] = name
        super().__init__("mailer", {**env, **own}, workdir, log_name or name, stop_s=20)

    def pause(self) -> None:
        """SIGSTOP: frozen, its heartbeats too, until resume()."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.resume()  # a stopped process would sit on SIGTERM
        super().stop()

    def owned(self) -> list[int] | None:
        """The partitions it says it owns last, None before its first assignment."""
        found = re.findall(r"ledger: .*; own \[([\d, ]*)\]", self.log())
        return [int(p) for p in found[-1].split(",") if p.strip()] if found else None

    def retry_queue(self) -> float:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            text = resp.read().decode()
        return float(re.search(r"^supportdesk_mailer_retry_queue (\S+)$", text, re.M)[1])  # type: ignore[index]


def until(check: Callable[[], bool], timeout: float, what: str, procs: list[MailerProc]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.log()[-2500:]}" for p in procs)
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.1)


def split_between(partitions: int, *members: MailerProc) -> Callable[[], bool]:
    """Every member owns partitions, and together all of them, each once."""

    def check() -> bool:
        owned = [m.owned() for m in members]
        return all(owned) and sorted(sum(owned, [])) == list(range(partitions))  # type: ignore[arg-type]

    return check


def outbound(i: int) -> bytes:
    return codec.dumps(
        OutboundEmail(
            outbound_id=f"o{i}", to=f"client{i}@example.org", subject=f"Re: case {i}",
            text="Answered.", message_id=f"<o{i}@desk.test>",
        )
    )  # fmt: skip
