"""Who is asking: argon2 passwords, sessions and bearer tokens, and the login rate limit.

Secrets are random 256-bit strings handed out once; the database keeps only
their SHA-256, so a leaked copy of it cannot be replayed as a login. Failed
logins live in the database too, so every web instance sees the same count.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.ticket_store.models import AuthToken, Client, ClientEmail, LoginAttempt, Staff

SESSION_TTL = timedelta(hours=12)
BEARER_TTL = timedelta(days=90)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str, password: str) -> bool:
    """Constant work whether or not the account exists, so timing does not reveal it."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The person behind a request: a staff member or a client, and how they proved it."""

    kind: str  # staff | client
    id: int
    via: str  # session | bearer
    token_id: int
    csrf_token: str = ""


def issue(
    session: Session,
    *,
    staff: Staff | None = None,
    client: Client | None = None,
    kind: str = "session",
    name: str = "",
    ttl: timedelta | None = None,
) -> tuple[str, AuthToken]:
    """A new session or bearer token; the secret is returned once and never stored."""
    if (staff is None) == (client is None):
        raise ValueError("a token belongs to exactly one staff member or client")
    secret = secrets.token_urlsafe(32)
    ttl = ttl or (SESSION_TTL if kind == "session" else BEARER_TTL)
    row = AuthToken(
        token_hash=token_hash(secret),
        kind=kind,
        name=name,
        staff_id=staff.id if staff else None,
        client_id=client.id if client else None,
        csrf_token=secrets.token_urlsafe(24) if kind == "session" else "",
        expires_at=_now() + ttl,
    )
    session.add(row)
    session.flush()
    return secret, row


def resolve(session: Session, secret: str, kind: str) -> Principal | None:
    """The live principal for a secret, or None (unknown, revoked, expired, deactivated)."""
    if not secret or len(secret) > 200:
        return None
    row = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == token_hash(secret), AuthToken.kind == kind)
    )
    if row is None or row.revoked:
        return None
    expires = _aware(row.expires_at)
    if expires is not None and expires <= _now():
        return None
    if row.staff_id is not None:
        staff = session.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            return None
        return Principal("staff", staff.id, kind, row.id, row.csrf_token)
    if row.client_id is not None and session.get(Client, row.client_id) is not None:
        return Principal("client", row.client_id, kind, row.id, row.csrf_token)
    return None


def revoke(session: Session, token_id: int) -> None:
    session.execute(update(AuthToken).where(AuthToken.id == token_id).values(revoked=True))


def revoke_all(
    session: Session, *, staff_id: int | None = None, client_id: int | None = None
) -> None:
    """Every login of a person ends, e.g. when the password changes or staff is deactivated."""
    q = update(AuthToken).values(revoked=True)
    if staff_id is not None:
        q = q.where(AuthToken.staff_id == staff_id)
    elif client_id is not None:
        q = q.where(AuthToken.client_id == client_id)
    else:
        raise ValueError("whose tokens?")
    session.execute(q)


# ------------------------------------------------------------------ authentication


def authenticate_staff(session: Session, email: str, password: str) -> Staff | None:
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    ok = verify_password(staff.password_hash if staff else "", password)
    return staff if ok and staff is not None and staff.active else None


def authenticate_client(session: Session, email: str, password: str) -> Client | None:
    entry = session.scalar(select(ClientEmail).where(ClientEmail.email == email.strip().lower()))
    client = session.get(Client, entry.client_id) if entry else None
    ok = verify_password(client.password_hash if client else "", password)
    return client if ok else None


# ------------------------------------------------------------------ rate limit


@dataclass(frozen=True)
class LoginLimit:
    """How failed logins slow further attempts down; nobody is ever locked out for good.

    Per address from one IP: `per_identity_ip` failures are free, then each further
    attempt waits `first_wait`, doubling with every failure up to `max_wait` (guessing
    from one place slows to a crawl). Per address from anywhere: the same after
    `per_identity` failures, so guessing spread over many IPs slows too, while the
    owner at their desk is slowed only by that. Per IP: once failures there concern
    `per_ip` different addresses (one place trying many accounts), that IP waits the
    same way; one person mistyping their own password behind a shared proxy never
    blocks the others. Failures older than `window` are forgotten.
    """

    per_identity_ip: int = 5
    per_identity: int = 50
    per_ip: int = 20
    window: timedelta = timedelta(minutes=15)
    first_wait: timedelta = timedelta(seconds=30)
    max_wait: timedelta = timedelta(minutes=15)

    def wait_after(self, failures: int, free: int) -> timedelta:
        """How long after the last failure the next attempt must wait."""
        if failures < free:
            return timedelta(0)
        return min(self.max_wait, self.first_wait * 2 ** min(failures - free, 30))


def login_wait(session: Session, identity: str, ip: str, limit: LoginLimit) -> int:
    """Seconds this address must still wait before trying from this IP (0: go ahead)."""
    now = _now()
    recent = LoginAttempt.at >= now - limit.window

    def failures(*where: object) -> tuple[int, datetime | None]:
        count, last = session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(recent, *where)
        ).one()
        return int(count or 0), _aware(last)

    def accounts_from_ip() -> tuple[int, datetime | None]:
        count, last = session.execute(
            select(
                func.count(func.distinct(LoginAttempt.identity)), func.max(LoginAttempt.at)
            ).where(recent, LoginAttempt.ip == ip)
        ).one()
        return int(count or 0), _aware(last)

    checks = (
        (failures(LoginAttempt.identity == identity, LoginAttempt.ip == ip), limit.per_identity_ip),
        (failures(LoginAttempt.identity == identity), limit.per_identity),
        (accounts_from_ip(), limit.per_ip),
    )
    wait = 0.0
    for (count, last), free in checks:
        if last is not None:
            until = last + limit.wait_after(count, free)
            wait = max(wait, (until - now).total_seconds())
    return int(wait + 0.999)


def login_blocked(session: Session, identity: str, ip: str, limit: LoginLimit) -> bool:
    return login_wait(session, identity, ip, limit) > 0


def record_failure(session: Session, identity: str, ip: str) -> None:
    session.add(LoginAttempt(identity=identity, ip=ip))


def clear_failures(session: Session, identity: str, ip: str, limit: LoginLimit) -> None:
    """A successful login forgets that address's failures from this IP only (another
    IP's guesses at the same address keep counting); old rows are pruned on the way."""
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.identity == identity, LoginAttempt.ip == ip)
    )
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < _now() - limit.window))
