"""Settings shared by every process, read from SUPPORTDESK_* variables or a file.

One place so that a fetcher, the router and the store started on different
machines agree on topic names and the blob store without passing flags around.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topics(BaseModel):
    raw: str = "mail.raw"
    outcomes: str = "mail.outcomes"
    ticket_commands: str = "tickets.commands"
    incoming: str = "mail.incoming"
    outbound: str = "mail.outbound"
    ticket_events: str = "tickets.events"
    clients: str = "directory.clients"
    gateways: str = "directory.gateways"
    departments: str = "directory.departments"
    fetcher_state: str = "fetcher.state"
    incidents: str = "billing.incidents"
    # New tickets from the web/API asking the router's incident ledger (schemas.ticket_requests).
    ticket_requests: str = "tickets.requests"
    dead: str = "mail.dead"
    delivery: str = "mail.delivery"
    # Gateways' OAuth2 tokens (kernel.oauth2.records), encrypted, compacted.
    gateway_tokens: str = "gateway.tokens"
    # Replay commands (`supportdesk replay --apply`) the router decides again.
    replay: str = "mail.replay"
    # The mailer's shared sent ledger and retry queue (services.mailer.ledger): compacted,
    # keyed by outbound id, co-partitioned with `outbound`.
    sent: str = "mail.sent"


class MailLimits(BaseModel):
    """What one mail may cost the router; a mail over any limit is `malformed`, with the
    limit named in the reason (never silently cut). Sizes in bytes (decoded: characters)."""

    header_block_bytes: int = 256 * 1024
    header_decoded_chars: int = 64 * 1024
    addresses_per_header: int = 1000
    multipart_depth: int = 50
    parts_per_mail: int = 2000
    # Outlook winmail.dat (TNEF) unpacking; over one of these the part stays as it was,
    # with a note (the mail itself is not refused).
    tnef_bytes: int = 32 * 1024 * 1024
    tnef_attributes: int = 10_000
    tnef_properties: int = 20_000
    tnef_copy_bytes: int = 1024 * 1024 * 1024  # what tnefparse copies (quadratic in attributes)
    tnef_depth: int = 2  # Outlook items attached inside Outlook items
    tnef_rtf_bytes: int = 128 * 1024  # compressed RTF body (inflated in pure Python)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTDESK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    kafka_bootstrap: str = "127.0.0.1:9092"
    # A stable name for this running instance (e.g. the host, or host-N with several per
    # host): consumer groups then use static membership, so a restart rejoins without a
    # rebalance. Unique per instance of a service; empty: dynamic membership.
    instance_name: str = ""
    # /health (JSON: running, or "waiting for broker/database", 503 then) and /metrics of
    # a store, router, mailer or fetcher process on 127.0.0.1; 0: not served.
    health_port: int = 0
    # Where every file the system writes lives unless a setting below names another place
    # (`supportdesk up --var DIR` sets it): the SQLite database, the blob store, the secret
    # key, the mailer's ledger, the router's table data.
    var_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite in var_dir; or postgresql+psycopg://…
    blob_dir: Path | None = None  # None: var_dir/blobs
    secret_key_file: Path | None = None  # None: var_dir/secret.key
    # Raw mail larger than this goes to the blob store; the event carries a reference.
    inline_limit_bytes: int = 512 * 1024
    # Files staff and clients attach from the web: per file, and files per message.
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments_per_message: int = 10
    # Request bodies, checked before they are parsed (over the limit: 413): JSON, and
    # forms without files; multipart forms may carry the attachments above on top.
    max_json_bytes: int = 1024 * 1024
    max_form_bytes: int = 2 * 1024 * 1024
    # Where users reach the web pages and the API; https:// makes the session cookie Secure.
    public_url: str = ""
    # Fernet key that encrypts gateway passwords at rest and on topics.
    secret_key: SecretStr | None = None
    # Key for ticket ids derived from email ids (see schemas.ticket_tag).
    ticket_key: SecretStr = SecretStr("supportdesk-dev-ticket-key")
    # Per-incident notice: at most one per address per this many seconds.
    notice_window_s: int = 24 * 3600
    # A web/API ticket in a paid department waits at most this long for the router's
    # incident ledger before answering "pending" (202; the page refreshes itself).
    ticket_decision_wait_s: float = 5.0
    # Extra CA bundle trusted for gateway TLS (a private CA, or the test CA).
    ca_file: str | None = None
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the real
    # client: login limits then count per client, not per proxy. Empty: trust no header.
    trusted_proxies: str = ""
    router_app_id: str = "supportdesk-router"
    # The router's nice value (kernel.priority): the pipeline's single-threaded bottleneck
    # runs first on a shared machine, and can never take more than one core. Lowering it
    # below 0 needs root or the unit's Nice=; None leaves the priority it was started with.
    router_nice: int | None = -10
    store_group_id: str = "supportdesk-store"
    topic_partitions: int = 4
    # Copies of every topic the system creates, and how many must have a write before it
    # counts (producers use acks=all). One broker: 1 and 1. Production: 3 brokers, 3 and
    # 2, so one broker may die (or be restarted) with nothing lost and writes going on.
    topic_replication_factor: int = 1
    topic_min_insync_replicas: int = 1
    # Outgoing gateway (SMTP) used by the mailer.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # Send with SASL XOAUTH2 using this gateway's OAuth2 token (gateway.tokens) instead.
    smtp_oauth2_gateway: str = ""
    mail_from: str = "support@company.net"
    message_id_domain: str = "supportdesk.invalid"
    mailer_group_id: str = "supportdesk-mailer"
    # Unused since the sent ledger and retry queue moved to Topics.sent (kept so that
    # existing settings still load).
    mailer_ledger: Path | None = None
    # A SIGKILLed mailer's partitions (and its queued mail) move to another instance
    # after this long; keep it below mailer_retry_first_s (the broker allows >= 6 s).
    mailer_session_timeout_s: float = 10.0
    # A temporary SMTP failure queues the mail in the shared ledger and retries it
    # with backoff (first retry after this many seconds, doubling up to the cap),
    # giving up, reported as failed, after mailer_give_up_s (MTAs use 4-5 days).
    mailer_retry_first_s: float = 60.0
    mailer_retry_max_s: float = 3600.0
    mailer_give_up_s: float = 4 * 24 * 3600.0
    topics: Topics = Topics()
    mail_limits: MailLimits = MailLimits()

    @model_validator(mode="after")
    def _files_under_var_dir(self) -> Settings:
        """What no setting places goes under var_dir, so one setting moves every file."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'supportdesk.db'}"
        if self.blob_dir is None:
            self.blob_dir = self.var_dir / "blobs"
        if self.secret_key_file is None:
            self.secret_key_file = self.var_dir / "secret.key"
        if self.mailer_ledger is None:
            self.mailer_ledger = self.var_dir / "mailer-sent.sqlite"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
