"""mail.delivery: the mailer's report on each outbound email, for the store to record.

The mailer cannot write the database, so it says what happened on this topic
(keyed by outbound id) and the store marks the message sent or failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.events import Event, utcnow

DELIVERY_TOPIC = "mail.delivery"


class DeliveryReport(Event):
    outbound_id: str
    status: Literal["sent", "failed"]
    detail: str = ""
    message_id: str = ""
    at: datetime = Field(default_factory=utcnow)
