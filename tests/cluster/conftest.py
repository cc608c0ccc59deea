"""One multi-host cluster for the whole session (ADR 0060): network namespaces on a private
bridge, HAProxy, two API hosts, two worker hosts, a PostgreSQL primary with a synchronous
replica, the department simulators; production profile. Clusters a hard-killed session left
behind are torn down first; this session's is torn down by the fixture's finalizer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from scripts.cluster.clients import counter_service
from scripts.cluster.topology import Cluster, ClusterError, reap, up
from tests.conftest import unavailable
from tests.durability.test_kill_workers import durability_blueprint

LEASE_SECONDS = 3.0


@dataclass(frozen=True)
class Running:
    """The cluster and a machine client's key that may submit and read applications."""

    cluster: Cluster
    key: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization for the client."""
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="session")
def running() -> Iterator[Running]:
    """The cluster, up; torn down at the end of the session whatever happened."""
    for leftover in reap(detached_too=False):
        print(f"tore down a cluster left by a killed test session: {leftover}")
    if os.geteuid() != 0:
        unavailable("root (network namespaces)", PermissionError("not root"))
    try:
        cluster = up(
            owner=os.getpid(),
            CIVICLOOM_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
            CIVICLOOM_WORKER_POLL_SECONDS="0.2",
            CIVICLOOM_SUBMISSION_RATE_PER_MINUTE="6000",
        )
    except (ClusterError, TimeoutError) as exc:
        unavailable("a multi-host cluster", exc)
        raise
    print(f"cluster {cluster.tag} set up (seconds): {cluster.timings}")
    try:
        # The durability blueprint: five automated steps in four departments.
        yield Running(
            cluster, counter_service(cluster, [durability_blueprint()], actor="test:setup")
        )
    finally:
        cluster.down()
