"""A throwaway Postfix (Debian's package) that delivers to an LMTP server, for tests and benchmarks.

Each :class:`PostfixServer` has its own config, queue and log in a temp dir, listens for
SMTP on a free loopback port, and routes the given addresses to an LMTP port through
``transport_maps``; everything else is refused. Retries are seconds apart (not Postfix's
minutes), so a test sees a deferred mail come back quickly. The system instance
(/etc/postfix) is never used. Needs root (Postfix's master runs as root and its
daemons as the ``postfix`` user).
"""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from devtools.net import free_port, wait_for_port
from devtools.throwaway import ThrowawayServer

POSTFIX_BIN = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE_BIN = shutil.which("postqueue") or "/usr/sbin/postqueue"
DAEMON_DIR = Path("/usr/lib/postfix/sbin")

# Only the services a relay to LMTP needs, none chrooted (the queue dir is a temp dir).
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixError(RuntimeError):
    """Postfix failed to start or stop; the message carries its output and log tail."""


def transport_map(addresses: Iterable[str], lmtp_host: str, lmtp_port: int) -> str:
    """An inline transport map sending each address to the LMTP server."""
    target = f"lmtp:inet:{lmtp_host}:{lmtp_port}"
    return "inline:{ " + ", ".join(f"{a.lower()}={target}" for a in addresses) + " }"


class PostfixServer(ThrowawayServer):
    """Postfix on ``host``:``smtp_port`` relaying ``addresses`` to ``lmtp_host``:``lmtp_port``.

    ``backoff_s`` is the first retry delay of a deferred mail (the second is twice that, then
    it stays there); the queue is scanned every ``backoff_s`` too.
    """

    def __init__(
        self,
        addresses: Iterable[str],
        lmtp_port: int,
        *,
        lmtp_host: str = "127.0.0.1",
        backoff_s: int = 1,
        host: str = "127.0.0.1",
    ) -> None:
        self.addresses = [a.lower() for a in addresses]
        self.lmtp_host = lmtp_host
        self.lmtp_port = lmtp_port
        self.backoff_s = max(1, backoff_s)
        self.host = host
        self.smtp_port = free_port(host)
        # Not under pytest's 0700 tmp dirs: Postfix's daemons (user postfix) must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="postfix-test-"))
        os.chmod(self.dir, 0o755)
        self.config_dir = self.dir / "etc"
        self.log_path = self.dir / "maillog"
        self._started = False
        self._write_config()
        self.clean_up_at_exit()

    # ------------------------------------------------------------ config

    def _domains(self) -> list[str]:
        return sorted({a.rsplit("@", 1)[1] for a in self.addresses})

    def main_cf(self) -> str:
        d = self.dir
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": d / "queue",
            "data_directory": d / "data",
            "command_directory": "/usr/sbin",
            "daemon_directory": DAEMON_DIR,
            "meta_directory": "/etc/postfix",
            "shlib_directory": "/usr/lib/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mta.supportdesk.test",
            "mydomain": "supportdesk.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_recipient_restrictions": f"check_recipient_access {self._access_map()}",
            "relay_domains": " ".join(self._domains()),
            "transport_maps": transport_map(self.addresses, self.lmtp_host, self.lmtp_port),
            # Anything the map does not name is refused, never sent out.
            "relay_transport": "error:5.1.1 not a test address",
            "default_transport": "error:5.1.1 not a test address",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "smtputf8_enable": "no",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": d,
            # A deferred mail comes back within seconds (Postfix's defaults are minutes).
            "queue_run_delay": f"{self.backoff_s}s",
            "minimal_backoff_time": f"{self.backoff_s}s",
            "maximal_backoff_time": f"{2 * self.backoff_s}s",
            "lmtp_connect_timeout": "5s",
            "lmtp_data_done_timeout": "60s",
            "delay_warning_time": "0",
            "bounce_queue_lifetime": "1h",
            "maximal_queue_lifetime": "1h",
        }
        return "".join(f"{k} = {v}\n" for k, v in settings.items())

    def _access_map(self) -> str:
        """Recipients outside the test addresses are refused at RCPT (no bounce traffic)."""
        return "inline:{ " + ", ".join(f"{a}=OK" for a in self.addresses) + " }, reject"

    def _write_config(self) -> None:
        self.config_dir.mkdir(mode=0o755)
        (self.dir / "queue").mkdir(mode=0o755)  # its subdirectories: `postfix start` makes them
        (self.config_dir / "main.cf").write_text(self.main_cf())
        listen = f"{self.host}:{self.smtp_port}"
        (self.config_dir / "master.cf").write_text(MASTER_CF.format(listen=listen))
        self.log_path.touch()
        os.chmod(self.log_path, 0o644)

    # ------------------------------------------------------------ lifecycle

    def _postfix(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX_BIN, "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, timeout: float = 30.0) -> None:
        if not Path(POSTFIX_BIN).exists():
            raise PostfixError(f"{POSTFIX_BIN} not found: run scripts/install-system-deps.sh")
        if os.geteuid() != 0:
            raise PostfixError("a throwaway Postfix needs root (its master runs as root)")
        res = self._postfix("start")
        if res.returncode != 0:
            raise PostfixError(f"postfix start failed: {self._why()}{self.log_tail()}")
        self._started = True
        if not wait_for_port(self.host, self.smtp_port, timeout):
            self.stop()
            raise PostfixError(f"smtpd not listening on {self.smtp_port}: {self.log_tail()}")

    def _why(self) -> str:
        """Postfix says why it refused only on a terminal (else syslog): ask again on one."""
        script = shutil.which("script")
        if script is None:
            return "(run `postfix -c {self.config_dir} check` in a terminal to see why)\n"
        res = subprocess.run(
            [script, "-qc", f"{POSTFIX_BIN} -c {self.config_dir} check", "/dev/null"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return res.stdout + res.stderr

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        res = self._postfix("stop")
        if res.returncode != 0:  # "the Postfix mail system is not running" is fine
            self._postfix("abort")
        # `postfix stop` returns before the master has exited (its pid file stays behind).
        deadline = time.monotonic() + 10
        while self._master_alive() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _master_alive(self) -> bool:
        try:
            pid = int((self.dir / "queue" / "pid" / "master.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    # ------------------------------------------------------------ using it

    def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        """Submit over SMTP; returns when Postfix has accepted (queued) the mail."""
        with smtplib.SMTP(self.host, self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(sender, recipients, message)

    def queue(self) -> str:
        """`postqueue -p`: what is still queued (deferred or active)."""
        res = subprocess.run(
            [POSTQUEUE_BIN, "-c", str(self.config_dir), "-p"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return res.stdout + res.stderr

    def queue_empty(self) -> bool:
        return "Mail queue is empty" in self.queue()

    def flush(self) -> None:
        """`postqueue -f`: retry every deferred mail now."""
        subprocess.run(
            [POSTQUEUE_BIN, "-c", str(self.config_dir), "-f"], capture_output=True, timeout=30
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def deliveries(self, status: str) -> int:
        """How many lmtp delivery attempts the log shows with this status (sent/deferred)."""
        return sum(
            1 for line in self.log().splitlines() if "/lmtp[" in line and f"status={status}" in line
        )
