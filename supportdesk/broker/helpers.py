"""Ports, cluster ids, Java, and server.properties rendering for the broker."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path

from supportdesk.broker.settings import HOST, SERVER_PROPERTIES_TEMPLATE, BrokerError

log = logging.getLogger(__name__)


def java_executable() -> str:
    """$JAVA_HOME/bin/java if set, else java from PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError("java is not on PATH (Java 17 is needed to run the Kafka broker)")
    return java


def new_cluster_id() -> str:
    """16 random bytes, URL-safe base64 without padding, like `kafka-storage random-uuid`.

    An id starting with '-' would be read as an option by StorageTool, so redraw.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


def free_port(host: str = HOST) -> int:
    """A port the OS considers free right now (racy, but good enough for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something already listens on host:port (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def render_server_properties(
    *,
    data_dir: Path,
    port: int,
    controller_port: int,
    host: str = HOST,
    node_id: int = 1,
    overrides: Mapping[str, object] | None = None,
) -> str:
    """server.properties for a one-node KRaft broker; overrides replace or append keys."""
    if port == controller_port:
        raise ValueError("port and controller_port must differ")
    text = SERVER_PROPERTIES_TEMPLATE.substitute(
        node_id=node_id,
        host=host,
        port=port,
        controller_port=controller_port,
        log_dirs=Path(data_dir).absolute() / "data",
    )
    if not overrides:
        return text
    pending = {str(k): str(v) for k, v in overrides.items()}
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("#") else None
        if key is not None and key in pending:
            line = f"{key}={pending.pop(key)}"
        lines.append(line)
    if pending:
        lines.append("# Overrides")
        lines.extend(f"{k}={v}" for k, v in pending.items())
    return "\n".join(lines) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    """Minimal .properties reader (key=value lines, # comments) for our own files."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
