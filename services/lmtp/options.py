"""LMTP-only knobs, read from SUPPORTDESK_LMTP_* variables (kept out of the shared Settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LmtpOptions(BaseSettings):
    # The same .env file as kernel.config.Settings, so one file configures everything.
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTDESK_LMTP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Loopback by default: the MTA runs on this machine. Port 24 is LMTP's own, but needs root.
    host: str = "127.0.0.1"
    port: int = Field(default=2424, ge=0, le=65535)
    # Announced in LHLO (SIZE) and enforced; the architecture ingests mail up to 50 MB.
    max_message_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # How long a delivery waits for the broker's acknowledgment before it answers 451.
    ack_timeout_s: float = Field(default=15.0, gt=0)
    # At most this many deliveries publish at once (each holds its mail in memory).
    max_sessions: int = Field(default=32, ge=1)
    # Name in the LMTP greeting.
    server_name: str = "supportdesk-lmtp"
