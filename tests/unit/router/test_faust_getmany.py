"""The getmany patch is pinned to faust-streaming 0.15.3: another version fails at import."""

from __future__ import annotations

import importlib.metadata
import importlib.util

import pytest
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer

from services.router import faust_getmany


def _import_fresh() -> None:
    spec = importlib.util.spec_from_file_location("faust_getmany_copy", faust_getmany.__file__)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_another_faust_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version",
        lambda name: "0.15.4" if name == "faust-streaming" else real(name),
    )  # fmt: skip
    with pytest.raises(ImportError, match=r"0\.15\.3.*0\.15\.4 is installed"):
        _import_fresh()


def test_the_pinned_version_imports_and_installs(monkeypatch: pytest.MonkeyPatch) -> None:
    _import_fresh()  # 0.15.3 is what the venv holds
    monkeypatch.setattr(Consumer, "getmany", faust_getmany.ORIGINAL)
    assert AIOKafkaConsumer.getmany is not faust_getmany.getmany
    faust_getmany.install()
    assert AIOKafkaConsumer.getmany is faust_getmany.getmany  # the router's consumer inherits it
    assert faust_getmany.ORIGINAL.__qualname__ == "Consumer.getmany"  # faust's, not ours


def test_the_router_fetches_through_it() -> None:
    from services.router import app as router

    assert router.app.transport.Consumer.getmany is faust_getmany.getmany
