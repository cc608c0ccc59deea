"""A test session killed hard does not leave its cluster behind (ADR 0060): the next session's
``reap`` kills everything in the dead owner's namespaces and deletes them, the bridge, the
relay and the files; a live owner's cluster is left alone. ``make cluster-down`` also removes
a namespace that no record claims (``reap_strays``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.cluster.topology import REGISTRY, bridges, namespaces, reap, reap_strays, run
from tests.simulators.harness import REPO_ROOT

BUILDS_AND_WAITS = """
import json, os, signal, sys, tempfile
from pathlib import Path
from scripts.cluster.topology import Cluster, _free_net
root = Path(tempfile.mkdtemp(prefix="civicloom-cluster-reap-"))
cluster = Cluster("r" + os.urandom(2).hex()[:3], _free_net(), root)
cluster.write_record(os.getpid())
cluster.logs_dir.mkdir()
cluster.build_network()
sleeper = cluster.spawn("api1", "sleep", ["sleep", "600"])
print(json.dumps({"tag": cluster.tag, "root": str(root), "sleeper": sleeper.pid}), flush=True)
signal.pause()  # until killed
"""


def _owner() -> tuple[subprocess.Popen[str], dict[str, str]]:
    owner = subprocess.Popen(
        [sys.executable, "-c", BUILDS_AND_WAITS],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'src'}:{REPO_ROOT}"},
    )
    assert owner.stdout is not None
    return owner, json.loads(owner.stdout.readline())


def _ours(tag: str) -> list[str]:
    return [n for n in namespaces() if n.startswith(f"civicloom-{tag}-")]


@pytest.mark.timeout(120)
def test_a_hard_killed_sessions_cluster_is_torn_down_by_the_next_session() -> None:
    owner, built = _owner()
    tag = built["tag"]
    try:
        assert len(_ours(tag)) == 8
        # While its owner lives the cluster is its own.
        reap(detached_too=False)
        assert len(_ours(tag)) == 8
        assert Path(f"/proc/{built['sleeper']}").exists()

        owner.send_signal(signal.SIGKILL)  # no finalizer, no atexit
        owner.wait(timeout=30)
        assert len(_ours(tag)) == 8

        reaped = reap(detached_too=False)
        assert f"cluster {tag}: civicloom-{tag}-api1 (1 processes)" in reaped
        assert f"cluster {tag}: clbr{tag}" in reaped
        assert _ours(tag) == []
        assert f"clbr{tag}" not in bridges()
        assert not Path(built["root"]).exists()
        assert not (REGISTRY / f"{tag}.json").exists()
    finally:
        if owner.poll() is None:
            owner.kill()
        reap(detached_too=False)


@pytest.mark.timeout(60)
def test_cluster_down_removes_a_namespace_no_record_claims() -> None:
    stray = "civicloom-s0x1-api1"  # a set-up killed before it wrote its record
    run(["ip", "netns", "add", stray])
    try:
        sleeper = subprocess.Popen(["ip", "netns", "exec", stray, "sleep", "600"])
        reaped = reap_strays()
        sleeper.wait(timeout=10)
        assert "cluster s0x1: civicloom-s0x1-api1 (1 processes)" in reaped
        assert stray not in namespaces()
    finally:
        if stray in namespaces():
            run(["ip", "netns", "del", stray])
