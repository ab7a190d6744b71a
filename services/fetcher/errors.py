"""Turn connection failures into short, exact, password-free messages for health and CLI."""

from __future__ import annotations

import poplib
import socket
import ssl

from imapclient.exceptions import IMAPClientError, LoginError
from kafka.errors import KafkaError


def describe(exc: BaseException, secrets: tuple[str, ...] = ()) -> tuple[str, str]:
    """(kind, message): kind labels the error metric, message is for people."""
    kind, msg = _classify(exc)
    for secret in secrets:
        if secret:
            msg = msg.replace(secret, "***")
    return kind, msg


def _text(exc: BaseException) -> str:
    parts = []
    for a in exc.args:
        parts.append(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a))
    return " ".join(parts) or type(exc).__name__


def _classify(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls", f"TLS certificate verification failed: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return "tls", f"TLS error: {exc.reason or exc}"
    if isinstance(exc, LoginError):
        return "auth", f"login failed: {_text(exc)}"
    if isinstance(exc, poplib.error_proto):
        text = _text(exc)
        if "[AUTH]" in text or "auth" in text.lower() or "password" in text.lower():
            return "auth", f"login failed: {text}"
        return "protocol", f"POP3 error: {text}"
    if isinstance(exc, IMAPClientError):
        return "protocol", f"IMAP error: {_text(exc)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connect", "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timeout", "timed out"
    if isinstance(exc, socket.gaierror):
        return "connect", f"host not found: {exc.strerror or exc}"
    if isinstance(exc, ConnectionError | EOFError):
        return "connect", f"connection lost: {type(exc).__name__} {_text(exc)}".strip()
    if isinstance(exc, OSError):
        return "connect", f"{type(exc).__name__}: {exc.strerror or _text(exc)}"
    if type(exc).__name__ == "OAuth2Failure":
        return "oauth2", f"OAuth2: {_text(exc)}"
    if type(exc).__name__ == "Fenced":
        return "fenced", f"fenced: another fetcher took this gateway ({_text(exc)})"
    if isinstance(exc, KafkaError):
        return "broker", f"Kafka: {type(exc).__name__}: {exc}"
    if isinstance(exc, FileNotFoundError):
        return "maildir", str(exc)
    return "error", f"{type(exc).__name__}: {_text(exc)}"
