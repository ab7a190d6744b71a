"""A throwaway PostgreSQL cluster (initdb in a temp dir, durability off) and
per-run databases in it, for tests and benchmarks."""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from devtools.net import free_port

PG_USER = "supportdesk"
PG_PASSWORD = "supportdesk-test"
PG_DATABASE = "supportdesk"


class PostgresError(RuntimeError):
    """initdb/pg_ctl/psql failed; the message carries their output."""


def find_pg_bindir() -> Path:
    """Directory with initdb/pg_ctl/postgres: ``pg_config --bindir``, else the newest
    /usr/lib/postgresql/*/bin (Debian keeps them off PATH)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(out))

    def version(path: str) -> int:
        try:
            return int(Path(path).parent.name.split(".")[0])
        except ValueError:
            return 0

    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    ]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for c in candidates:
        if all((c / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return c
    raise PostgresError(
        "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin); "
        "run scripts/install-system-deps.sh"
    )


def normalize_url(url: str | URL) -> URL:
    """Spell out the psycopg 3 driver, whatever default SQLAlchemy has for ``postgresql://``."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.drivername != "postgresql+psycopg":
        u = u.set(drivername="postgresql+psycopg")
    return u


def render(url: URL) -> str:
    """URL as a string with the password in it (SQLAlchemy hides it by default)."""
    return url.render_as_string(hide_password=False)


class PostgresCluster:
    """A throwaway cluster in a temp dir: loopback TCP on a free port, durability off.

    Attributes: ``host``, ``port``, ``user``, ``password``, ``database``,
    ``url`` (SQLAlchemy ``postgresql+psycopg://...``), ``dir``, ``data_dir``,
    ``socket_dir``, ``log_path``, ``bindir``.
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_pg_bindir()
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.user = PG_USER
        self.password = PG_PASSWORD
        self.database = PG_DATABASE
        self.dir = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "sock"
        self.log_path = self.dir / "postgres.log"
        self._started = False
        # PostgreSQL refuses to run as root: run its tools as the postgres user.
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return render(
            URL.create(
                "postgresql+psycopg",
                username=self.user,
                password=self.password,
                host=self.host,
                port=self.port,
                database=self.database,
            )
        )

    def _run(self, *cmd: str, input: str | None = None) -> str:
        argv = list(cmd)
        if self._as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        res = subprocess.run(
            argv, input=input, capture_output=True, text=True, check=False, cwd=self.dir
        )
        if res.returncode != 0:
            raise PostgresError(
                f"{' '.join(cmd)} failed ({res.returncode}): {res.stdout}{res.stderr}"
            )
        return res.stdout

    def start(self) -> None:
        """initdb (no fsync), start on loopback, create the role and database."""
        atexit.register(self.stop)  # don't leave a postmaster behind if teardown is skipped
        self.socket_dir.mkdir()
        if self._as_root:
            pg = pwd.getpwnam("postgres")
            for p in (self.dir, self.socket_dir):
                os.chown(p, pg.pw_uid, pg.pw_gid)
        self.dir.chmod(0o700)
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data_dir),
            "-U", "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )  # fmt: skip
        self.start_server()
        # Superuser over the unix socket (trust) to create the app role.
        self._run(
            str(self.bindir / "psql"),
            "-h", str(self.socket_dir),
            "-p", str(self.port),
            "-U", "postgres",
            "-d", "postgres",
            "-v", "ON_ERROR_STOP=1",
            "-q",
            "-c", f"CREATE ROLE {self.user} LOGIN SUPERUSER PASSWORD '{self.password}'",
            "-c", f"CREATE DATABASE {self.database} OWNER {self.user}",
        )  # fmt: skip

    def start_server(self) -> None:
        """Start the server on the existing data directory (after start(), or stop_server())."""
        opts = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(self.data_dir),
            "-l", str(self.log_path),
            "-o", opts,
            "-w", "-t", "60",
            "start",
        )  # fmt: skip
        self._started = True

    def stop_server(self) -> None:
        """Stop the server, keeping its data (an outage: clients are disconnected)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        self._started = False

    def stop(self) -> None:
        """Immediate shutdown (nothing to keep) and delete the temp dir."""
        atexit.unregister(self.stop)
        if self._started:
            self._started = False
            with contextlib.suppress(PostgresError):
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                    "-w", "stop",
                )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no postgres log)"


def _admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(
        normalize_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


def create_database(server_url: str, prefix: str = "test") -> str:
    """Create ``<prefix>_<uuid>`` on the server of ``server_url``; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex}"
    engine = _admin_engine(server_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return render(normalize_url(server_url).set(database=name))


def drop_database(database_url: str) -> None:
    """Drop the database of ``database_url``, kicking out connections a test left open."""
    url = normalize_url(database_url)
    name = url.database
    engine = _admin_engine(render(url.set(database="postgres")))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def wait_connectable(url: str, timeout: float = 30.0) -> None:
    engine = sa.create_engine(normalize_url(url), poolclass=NullPool)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                return
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        engine.dispose()
