"""A fetcher's health for one gateway: the record both sides of `fetcher.state` read.

The fetchers publish it under ``health:<gateway_id>`` after every poll (and
periodically); `supportdesk gateway list` and the store's operations consumer
(gateway-health page) read it. One model, so the two sides cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import utcnow

HealthStatus = Literal["ok", "failing", "stopped", "starting"]


class GatewayHealth(BaseModel):
    """Mutable: a fetcher keeps one per gateway and updates it in place."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = 1
    gateway_id: str
    name: str = ""
    owner: str = ""
    status: HealthStatus = "starting"
    last_success: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    mails_taken: int = 0
    idle: bool = False
    updated_at: datetime = Field(default_factory=utcnow)
