"""A gateway's OAuth2 tokens, kept in ONE place every fetcher, the mailer and the store see.

The place is the compacted Kafka topic ``gateway.tokens`` (key: gateway id), for
the reason fetcher state lives on Kafka: fetchers move between machines and the
mailer runs elsewhere, and none of them may open the store's database. Every
secret in a record (access token, refresh token, client secret) is Fernet-encrypted
with the key that encrypts gateway passwords, so the topic holds no secret in clear.

Whoever refreshes writes the new record and waits for the broker's ack (acks=all)
before using the new access token: a rotated refresh token is saved at once, and
a process that dies right after still left it where the next one looks.
"""

from __future__ import annotations

import threading
import time
from typing import Literal, Protocol

from kafka import KafkaConsumer
from kafka.structs import TopicPartition
from pydantic import BaseModel, Field

from kernel.config import Settings
from kernel.crypto import decrypt, encrypt
from kernel.kafka import reliable_producer


class TokenRecord(BaseModel):
    """Value of ``gateway.tokens``; secrets encrypted, never in clear."""

    schema_version: int = 1
    gateway_id: str
    version: int = 1  # +1 on every change: a reader knows which of two is newer
    provider: str = "generic"
    token_url: str
    client_id: str
    client_secret_encrypted: str = ""
    scope: str = ""
    username: str  # the mailbox login (XOAUTH2 user=)
    access_token_encrypted: str = ""
    refresh_token_encrypted: str = ""
    expires_at: float = 0.0  # epoch seconds
    expires_in: int = 3600  # lifetime of the access token as issued
    status: Literal["connected", "failed"] = "connected"
    reason: str = ""  # why it failed, for people; never a secret
    updated_at: float = Field(default_factory=time.time)

    def with_tokens(self, settings: Settings, token: dict) -> TokenRecord:
        """The record after a token response; a response without a refresh token keeps ours."""
        refresh = token.get("refresh_token")
        expires_in = int(token.get("expires_in") or self.expires_in or 3600)
        return self.model_copy(
            update={
                "version": self.version + 1,
                "access_token_encrypted": encrypt(settings, token["access_token"]),
                "refresh_token_encrypted": (
                    encrypt(settings, refresh) if refresh else self.refresh_token_encrypted
                ),
                "expires_in": expires_in,
                "expires_at": float(token.get("expires_at") or time.time() + expires_in),
                "status": "connected",
                "reason": "",
                "updated_at": time.time(),
            }
        )

    def failed(self, reason: str) -> TokenRecord:
        return self.model_copy(
            update={
                "version": self.version + 1,
                "status": "failed",
                "reason": reason,
                "access_token_encrypted": "",
                "updated_at": time.time(),
            }
        )

    def client_secret(self, settings: Settings) -> str:
        return decrypt(settings, self.client_secret_encrypted)


class TokenStore(Protocol):
    def get(self, gateway_id: str) -> TokenRecord | None: ...

    def put(self, record: TokenRecord) -> None: ...


class MemoryTokenStore:
    """For unit tests and single-process tools."""

    def __init__(self) -> None:
        self.records: dict[str, TokenRecord] = {}
        self.writes: list[TokenRecord] = []

    def get(self, gateway_id: str) -> TokenRecord | None:
        return self.records.get(gateway_id)

    def put(self, record: TokenRecord) -> None:
        self.records[record.gateway_id] = record
        self.writes.append(record)


class KafkaTokenStore:
    """The topic read to its end on every get (a few ms), written synchronously."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topics.gateway_tokens
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}
        self._consumer: KafkaConsumer | None = None
        self._tps: list[TopicPartition] = []
        self._producer = None
        self._topic_made = False

    def _ensure_topic(self) -> None:
        if not self._topic_made:
            from kernel.topics import create_missing, topic_config_for

            create_missing(
                self.settings.kafka_bootstrap,
                {self.topic: topic_config_for("gateway_tokens")},
                self.settings.topic_partitions,
            )
            self._topic_made = True

    def _catch_up(self) -> None:
        if self._consumer is None:
            self._ensure_topic()
            consumer = KafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                group_id=None,
                enable_auto_commit=False,
                client_id="supportdesk-oauth2-tokens",
            )
            parts = consumer.partitions_for_topic(self.topic) or set()
            self._tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            consumer.assign(self._tps)
            consumer.seek_to_beginning(*self._tps)
            self._consumer = consumer
        consumer = self._consumer
        end = consumer.end_offsets(self._tps)
        deadline = time.monotonic() + 10
        while any(consumer.position(tp) < end[tp] for tp in self._tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic} not read to its end in 10 s")
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    key = (r.key or b"").decode()
                    if r.value is None:
                        self._records.pop(key, None)
                    else:
                        rec = TokenRecord.model_validate_json(r.value)
                        old = self._records.get(key)
                        if old is None or rec.version >= old.version:
                            self._records[key] = rec

    def get(self, gateway_id: str) -> TokenRecord | None:
        with self._lock:
            self._catch_up()
            return self._records.get(gateway_id)

    def put(self, record: TokenRecord) -> None:
        with self._lock:
            self._ensure_topic()
            if self._producer is None:
                self._producer = reliable_producer(self.settings, client_id="supportdesk-oauth2")
            value = record.model_dump_json().encode()
            self._producer.send(self.topic, key=record.gateway_id.encode(), value=value).get(30)
            self._records[record.gateway_id] = record

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
        if self._producer is not None:
            self._producer.close(timeout=5)
