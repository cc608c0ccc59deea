"""``make cluster`` / ``make cluster-down``: build the multi-host cluster, or tear down every
cluster left behind (ADR 0060).

    python -m scripts.cluster up      # prints where everything is; stays up
    python -m scripts.cluster down    # stops and deletes every cluster not owned by a live test
"""

from __future__ import annotations

import sys

from scripts.cluster.topology import HOSTS, SIM_PORTS, reap, reap_strays, up


def main(argv: list[str]) -> int:
    """Dispatch ``up`` or ``down``."""
    command = argv[0] if argv else "up"
    if command == "down":
        for line in reap(detached_too=True) + reap_strays() or ["nothing to tear down"]:
            print(line)
        return 0
    if command != "up":
        print(__doc__, file=sys.stderr)
        return 2
    cluster = up(owner=None, api_workers=2)
    print(f"cluster {cluster.tag} is up (files, logs and secrets.env in {cluster.root})")
    print(f"  load balancer   {cluster.lb_url}  (try {cluster.lb_url}/api/v1/services)")
    for host in HOSTS:
        print(f"  {host:<9} {cluster.ip(host):<14} ip netns exec {cluster.ns(host)} ...")
    print(f"  broker relay    {cluster.ip('root')}:5672 -> 127.0.0.1:5672")
    print(f"  events exchange {cluster.events_exchange}")
    print(f"  WAL archive     {cluster.wal_archive}")
    for sim in SIM_PORTS:
        print(f"  simulator {sim:<12} {cluster.sim_url(sim)}")
    print(f"set-up steps (seconds): {cluster.timings}")
    print("tear it down with: make cluster-down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
