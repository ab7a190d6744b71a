"""Fetcher subprocesses (`python -m supportdesk.cli fetcher`), as they run in production."""

from __future__ import annotations

from pathlib import Path

from devtools.pipeline import ServiceProcess
from kernel.config import Settings
from services.fetcher.state import GatewayHealth, load_health

REPO = Path(__file__).resolve().parents[3]


def fetcher_env(settings: Settings, ca_file: str, **fetcher_opts: object) -> dict[str, str]:
    env = {
        "SUPPORTDESK_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SUPPORTDESK_DATABASE_URL": settings.database_url,
        "SUPPORTDESK_BLOB_DIR": str(settings.blob_dir),
        "SUPPORTDESK_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "SUPPORTDESK_CA_FILE": ca_file,
        "SUPPORTDESK_FETCHER_SESSION_TIMEOUT_MS": "6000",
        "SUPPORTDESK_FETCHER_HEARTBEAT_INTERVAL_MS": "1000",
        "SUPPORTDESK_FETCHER_BACKOFF_BASE_S": "0.2",
        "SUPPORTDESK_FETCHER_BACKOFF_CAP_S": "2",
        "SUPPORTDESK_FETCHER_HEALTH_EVERY_S": "1",
    }
    if settings.secret_key is not None:
        env["SUPPORTDESK_SECRET_KEY"] = settings.secret_key.get_secret_value()
    for name, value in settings.topics.model_dump().items():
        env[f"SUPPORTDESK_TOPICS__{name.upper()}"] = value
    for name, value in fetcher_opts.items():
        env[f"SUPPORTDESK_FETCHER_{name.upper()}"] = str(value)
    return env


class FetcherProc(ServiceProcess):
    def __init__(self, env: dict[str, str], workdir: Path, name: str) -> None:
        super().__init__("fetcher", env, workdir, name)

    def owner_suffix(self) -> str:
        return f":{self.pid}"

    def log(self) -> str:
        return super().log()[-3000:]


def owners(settings: Settings) -> dict[str, GatewayHealth]:
    return load_health(settings.kafka_bootstrap, settings.topics.fetcher_state)
