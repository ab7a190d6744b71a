"""A throwaway Dovecot (IMAP + POP3, plain/STARTTLS and implicit TLS) for tests and benchmarks.

Each :class:`DovecotServer` lives in its own temp dir with its own config, ports,
test CA and users file, so several instances can run side by side and tests
never touch the system Dovecot (/etc/dovecot). The config follows
/work/shared/notes/dovecot.md. Dovecot refuses mail access as uid 0 and login
processes as root, so the instance runs as root with mail_uid=nobody.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from imapclient import IMAPClient

from devtools.dovecot_config import mail_ids, render_config, write_users
from devtools.dovecot_oauth2 import OAUTH2_MECHANISMS
from devtools.net import free_port, wait_for_port, write_test_pki
from devtools.throwaway import ThrowawayServer

DEFAULT_USER = "support@company.net"
DEFAULT_PASSWORD = "secret"

DOVECOT_BIN = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM_BIN = shutil.which("doveadm") or "/usr/bin/doveadm"

TlsMode = Literal["plain", "starttls", "ssl"]


class DovecotError(RuntimeError):
    """Dovecot or doveadm failed; the message carries its output and log tail."""


class DovecotServer(ThrowawayServer):
    """A throwaway Dovecot instance in a temp dir with free loopback ports.

    Attributes: ``host``, ``imap_port`` (plain + STARTTLS), ``imaps_port``,
    ``pop3_port`` (plain + STARTTLS), ``pop3s_port``, ``ca_path`` (PEM of the
    test CA that signed the server cert for DNS:localhost, IP:127.0.0.1 and
    ``host``), ``dir``, ``config_path``, ``log_path``, ``users_path``.
    """

    def __init__(
        self,
        *,
        pop3_no_flag_updates: bool = False,
        disable_plaintext_auth: bool = False,
        listen: str = "127.0.0.1",
        oauth2_introspection_url: str | None = None,
        oauth2_mechanisms: str = OAUTH2_MECHANISMS,
    ) -> None:
        # Set: XOAUTH2/OAUTHBEARER logins checked there (devtools.dovecot_oauth2).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.oauth2_mechanisms = oauth2_mechanisms
        self.pop3_no_flag_updates = pop3_no_flag_updates
        self.disable_plaintext_auth = disable_plaintext_auth
        self.listen = listen
        self.host = listen
        self.dir = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        # Login/auth processes run as dovenull/dovecot and need +x on the path.
        self.dir.chmod(0o755)
        self.instance_name = f"dovecot-test-{uuid.uuid4().hex[:12]}"
        self.config_path = self.dir / "dovecot.conf"
        self.log_path = self.dir / "dovecot.log"
        self.users_path = self.dir / "users"
        self.base_dir = self.dir / "run"
        self.state_dir = self.dir / "state"
        self.mail_root = self.dir / "mail"
        self.imap_port = free_port(listen)
        self.imaps_port = free_port(listen)
        self.pop3_port = free_port(listen)
        self.pop3s_port = free_port(listen)
        ips = ["127.0.0.1"] if listen in ("127.0.0.1", "0.0.0.0", "*") else ["127.0.0.1", listen]
        tls = write_test_pki(self.dir / "tls", ip_addresses=ips)
        self.ca_path = tls.ca_path
        self.cert_path = tls.cert_path
        self.key_path = tls.key_path
        self._users: dict[str, str] = {}
        self._users_mtime = 0
        self._users_written = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self.state_dir.mkdir()
        self.mail_root.mkdir()
        if os.geteuid() == 0:
            uid, gid = mail_ids()
            os.chown(self.mail_root, uid, gid)
        self._write_users()
        self.config_path.write_text(self._config())
        # The master runs in its own session; don't leave it behind if teardown is skipped.
        self.clean_up_at_exit()

    # ----------------------------------------------------------------- config
    def _config(self) -> str:
        return render_config(self)

    def _write_users(self) -> None:
        self._users_mtime = write_users(self.users_path, self._users, self._users_mtime)
        self._users_written = time.time()

    def add_user(self, name: str, password: str) -> None:
        """Add a user or change a password; also while running.

        Dovecot's passwd-file stats the file at most once per second, so while
        running this waits until the next wall-clock second (< 1 s) to make the
        change visible to the very next login.
        """
        self.add_users({name: password})

    def add_users(self, users: dict[str, str]) -> None:
        """Add several users with a single (at most one second) wait."""
        self._users.update(users)
        self._write_users()
        if self.running:
            next_second = int(self._users_written) + 1
            while time.time() < next_second:
                time.sleep(next_second - time.time() + 0.002)

    # -------------------------------------------------------------- lifecycle
    @property
    def pid(self) -> int | None:
        """The master's pid (its imap/pop3 children are in its process tree)."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the master in the foreground and wait until all four ports accept."""
        if self.running:
            return
        if os.geteuid() != 0:
            raise DovecotError("the test Dovecot must run as root (mail_uid=nobody)")
        if not Path(DOVECOT_BIN).exists():
            raise DovecotError(f"{DOVECOT_BIN} not found; run scripts/install-system-deps.sh")
        self._proc = subprocess.Popen(
            [DOVECOT_BIN, "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() can kill all children
        )
        deadline = time.monotonic() + timeout
        for port in (self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port):
            while not wait_for_port(self.host, port, 0.05):
                if self._proc.poll() is not None:
                    out = (
                        self._proc.stdout.read().decode(errors="replace")
                        if self._proc.stdout
                        else ""
                    )
                    self._proc = None
                    raise DovecotError(f"dovecot exited: {out.strip()}\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise DovecotError(f"dovecot did not listen on {port}\n{self.log_tail()}")

    def stop(self, timeout: float = 0.2) -> None:
        """TERM the whole process group, then KILL whatever lingers.

        Usually done in ~5 ms; right after start() half-started children ignore
        TERM and ``doveadm stop`` would take 1-2.5 s. Mail is on disk either way
        (Maildir renames are atomic), so a short grace period keeps
        function-scoped fixtures fast.
        """
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
        # Children (login, auth, imap, log...) share the group; make sure none survive.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
        # Stale sockets/pid would not stop a restart, but keep the dir clean.
        with contextlib.suppress(FileNotFoundError):
            (self.base_dir / "master.pid").unlink()

    def restart(self) -> None:
        """Stop and start again on the same ports, users and mail."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the Dovecot log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no dovecot log)"

    # ------------------------------------------------------------------ mail
    def doveadm(self, *args: str, input: bytes | None = None) -> str:
        """Run ``doveadm -c <our conf> ...`` (without -c it would read /etc/dovecot)."""
        res = subprocess.run(
            [DOVEADM_BIN, "-c", str(self.config_path), *args],
            input=input,
            capture_output=True,
            check=False,
        )
        if res.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({res.returncode}): "
                f"{res.stderr.decode(errors='replace').strip()}"
            )
        return res.stdout.decode(errors="replace")

    def save(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        """Store one message through Dovecot (``doveadm save``, ~11 ms); needs start()."""
        if folder.upper() != "INBOX":
            with contextlib.suppress(DovecotError):  # already exists
                self.doveadm("mailbox", "create", "-u", user, folder)
        self.doveadm("save", "-u", user, "-m", folder, input=message)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """Path of the user's Maildir (Maildir++ ``.folder`` for other folders)."""
        root = self.mail_root / user / "Maildir"
        return root if folder.upper() == "INBOX" else root / f".{folder}"

    def deliver_many(
        self, user: str, messages: Iterable[bytes], folder: str = "INBOX", *, seen: bool = False
    ) -> int:
        """Write messages straight into the Maildir (tmp/ then rename to new/ or cur/).

        For benchmarks with thousands of mails: no process per message. Works
        with the server stopped too. UIDs are assigned by Dovecot at the next
        mailbox sync in directory order, so they need not follow list order;
        use :meth:`save` when order matters. Returns the number written.
        """
        is_root = os.geteuid() == 0
        uid, gid = mail_ids() if is_root else (-1, -1)
        home = self.mail_root / user
        root = home / "Maildir"
        target = self.maildir(user, folder)
        for d in (home, root, target, target / "tmp", target / "new", target / "cur"):
            if not d.exists():
                d.mkdir(mode=0o700)
                if is_root:
                    os.chown(d, uid, gid)
        if target != root and not (target / "maildirfolder").exists():
            (target / "maildirfolder").touch()
            if is_root:
                os.chown(target / "maildirfolder", uid, gid)
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        stamp = int(time.time())
        tag = uuid.uuid4().hex[:8]
        pid = os.getpid()
        n = 0
        for n, data in enumerate(messages, start=1):
            base = f"{stamp}.M{n}P{pid}Q{tag}.{host},S={len(data)}"
            tmp = target / "tmp" / base
            with open(tmp, "wb") as f:
                f.write(data)
            if is_root:
                os.chown(tmp, uid, gid)
            if seen:
                tmp.rename(target / "cur" / f"{base}:2,S")
            else:
                tmp.rename(target / "new" / base)
        return n

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, frozenset[str]]:
        """UID -> flags of every message, via ``doveadm fetch`` (does not alter flags).

        ``\\Recent`` is left out: it depends on which session looked first.
        """
        out = self.doveadm("-f", "tab", "fetch", "-u", user, "uid flags", "mailbox", folder, "all")
        result: dict[int, frozenset[str]] = {}
        for line in out.splitlines()[1:]:  # first line is the header "uid\tflags"
            if not line.strip():
                continue
            uid_s, _, flags_s = line.partition("\t")
            result[int(uid_s)] = frozenset(f for f in flags_s.split() if f != "\\Recent")
        return result

    def count(self, user: str, folder: str = "INBOX") -> int:
        """Number of messages in the folder."""
        return len(self.flags(user, folder))

    # --------------------------------------------------------------- clients
    def ssl_context(self) -> ssl.SSLContext:
        """Client TLS context that trusts only this instance's test CA."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def imap(
        self,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        *,
        tls: TlsMode = "plain",
        timeout: float = 10.0,
    ) -> IMAPClient:
        """A logged-in imapclient connection (caller logs out / closes it)."""
        if tls == "ssl":
            client = IMAPClient(
                self.host,
                port=self.imaps_port,
                ssl=True,
                ssl_context=self.ssl_context(),
                timeout=timeout,
            )
        else:
            client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=timeout)
            if tls == "starttls":
                client.starttls(self.ssl_context())
        client.login(user, password)
        return client
