"""The gateways a fetcher knows about, read from the compacted directory topic.

The reading itself lives in kernel.directory (the LMTP gateway follows the same topic).
"""

from __future__ import annotations

from kernel.directory import read_gateways

__all__ = ["read_gateways"]
