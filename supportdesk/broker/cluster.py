"""A real KRaft cluster on one machine: N combined broker+controller nodes from the same jars.

For the tests (and a rehearsal of production): topics at replication factor 3 with
`min.insync.replicas=2` survive the death of any one node, partition leaders move, and
producers at acks=all neither lose nor double a record.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from supportdesk.broker.helpers import HOST, free_port, new_cluster_id
from supportdesk.broker.process import LocalBroker
from supportdesk.broker.settings import BrokerError


class ClusterNode(LocalBroker):
    """One node of a static-quorum cluster: formatted with the cluster's shared id."""

    def __init__(self, data_dir: Path, *, cluster_id: str, **kwargs: object) -> None:
        super().__init__(data_dir, **kwargs)  # type: ignore[arg-type]
        self.cluster_id = cluster_id

    def format(self) -> bool:
        if self.is_formatted():
            return False
        self.ensure_jars()
        self.write_config()
        cmd = self._java_cmd(
            "kafka.tools.StorageTool", "format", "-t", self.cluster_id,
            "-c", str(self.properties_path), heap="256m",
        )  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BrokerError(f"StorageTool format failed:\n{proc.stdout}{proc.stderr}")
        return True

    def kill(self) -> None:
        """SIGKILL, as a crashed machine: no controlled shutdown, no leader handover."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


class LocalCluster:
    def __init__(self, data_dir: Path, size: int = 3, heap: str = "384m") -> None:
        cluster_id = new_cluster_id()
        ports = [(free_port(), free_port()) for _ in range(size)]
        voters = ",".join(f"{i + 1}@{HOST}:{c}" for i, (_, c) in enumerate(ports))
        insync = max(1, min(2, size - 1))
        overrides = {
            "controller.quorum.voters": voters,
            "default.replication.factor": size,
            "min.insync.replicas": insync,
            "offsets.topic.replication.factor": size,
            "transaction.state.log.replication.factor": size,
            "transaction.state.log.min.isr": insync,
            # Leaders move back to their preferred node soon after it returns.
            "leader.imbalance.check.interval.seconds": 10,
            # A dead node's partitions get new leaders within a few seconds.
            "broker.session.timeout.ms": 6000,
            "broker.heartbeat.interval.ms": 1000,
        }
        self.nodes = [
            ClusterNode(
                Path(data_dir) / f"node{i + 1}", cluster_id=cluster_id, port=port,
                controller_port=ctl, node_id=i + 1, heap=heap, overrides=overrides,
            )
            for i, (port, ctl) in enumerate(ports)
        ]  # fmt: skip

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def start(self, timeout: float = 180.0) -> float:
        """Start every node (they need each other for a quorum); seconds until all serve."""
        t0 = time.monotonic()
        for node in self.nodes:
            node.format()
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready(max(10.0, timeout - (time.monotonic() - t0)))
        return time.monotonic() - t0

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id - 1]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
