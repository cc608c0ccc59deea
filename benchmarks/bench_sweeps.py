"""A citizen's status read while the worker's heavy jobs run (issue 23): "a seal or SLA sweep
adds under 5 ms to a concurrent status read".

On a seeded PostgreSQL database (``BENCH_VOLUME_URL``: an existing one, e.g. after
``civicloom demo seed --applications 1000000``; otherwise a scratch database seeded with
``BENCH_VOLUME_APPS``, default 20 000, and dropped afterwards), the status API is read in a loop
through the whole ASGI stack in-process, first alone, then while another *process* (as the
worker is) runs the audit seal (``seal_now``'s batches over every unsealed entry, a seed's
millions included), then while it runs SLA sweeps (``sweep_slas`` batches escalating the seeded
overdue officer tasks). Each phase lasts ``BENCH_SWEEPS_SECONDS`` (default 20) or until the job
finishes; p50/p95 of the reads and the difference to the read alone are printed with the load
average. Reads rotate over Alice's seeded applications (one in 50 is hers).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import httpx

from benchmarks.bench_volume import nearest_rank, on_volume_database
from civicloom.app import create_app
from civicloom.applications.sla import sweep_slas
from civicloom.audit import load_or_create_keyring, seal_now
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo, seed_applications
from civicloom.settings import Profile, Settings

SECONDS = float(os.environ.get("BENCH_SWEEPS_SECONDS", "20"))
APPS = int(os.environ.get("BENCH_VOLUME_APPS", "20000"))


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


async def job(kind: str, url: str, seconds: float) -> None:
    """The worker's side (run in its own process): seal or sweep in batches for ``seconds``."""
    with tempfile.TemporaryDirectory() as var_dir:
        settings = Settings(profile=Profile.TEST, database_url=url, var_dir=Path(var_dir))
        container = build_container(settings)
        keyring = load_or_create_keyring(Path(var_dir) / "keys", create=True)
        deadline, done, batches = time.monotonic() + seconds, 0, 0
        while time.monotonic() < deadline:
            if kind == "seal":
                sealed = await seal_now(container.uow(), container.clock, keyring, batch=50_000)
                batches += 1
                if sealed is None:
                    break
                done += 1
            else:
                reminders, escalations = await sweep_slas(container.uow(), container.clock.now())
                batches += 1
                done += reminders + escalations
                if not reminders + escalations:
                    break
        print(f"  {kind}: {batches} run(s), {done} sealed/escalated", flush=True)
        await container.close()
        await container.database.dispose()


async def reads(client: httpx.AsyncClient, until: asyncio.Future[Any] | None) -> list[float]:
    """Status reads, one after another, for ``SECONDS`` or until ``until`` is done."""
    headers = {"Authorization": "Bearer dev:alice"}
    alices = max(1, min(APPS, 1_000_000) // 50)
    times: list[float] = []
    deadline = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < deadline and (until is None or not until.done()):
        app_id = f"seed-{(n * 7919 % alices) * 50:012d}"
        started = time.perf_counter()
        response = await client.get(f"/api/v1/applications/{app_id}/status", headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (response.status_code, response.text[:200])
        n += 1
    return times


async def run(url: str, var_dir: Path) -> None:
    """Reads alone, during a seal, during sweeps."""
    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    await load_demo(container, progress=lambda _: None)
    if "BENCH_VOLUME_URL" not in os.environ:
        await seed_applications(container, APPS, progress=lambda _: None)
    app = create_app(container)
    results: list[tuple[str, list[float]]] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        first = await c.get(
            "/api/v1/applications/seed-000000000000/status",
            headers={"Authorization": "Bearer dev:alice"},
        )
        assert first.status_code == 200, first.text[:300]  # warm-up
        print(f"alone ({_load()})", flush=True)
        results.append(("status read alone", await reads(c, None)))
        for kind in ("seal", "sweep"):
            process = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--job", kind, url, str(SECONDS)
            )
            waited = asyncio.ensure_future(process.wait())
            await asyncio.sleep(1.0)  # the job has connected and started its first batch
            print(f"during {kind} ({_load()})", flush=True)
            results.append((f"status read during {kind}", await reads(c, waited)))
            await waited
    base = nearest_rank(results[0][1], 95)
    print(f"{'':34} {'reads':>6} {'p50 ms':>7} {'p95 ms':>7} {'p95 added':>10}")
    for name, times in results:
        p95 = nearest_rank(times, 95)
        print(
            f"{name:34} {len(times):6d} {nearest_rank(times, 50):7.1f} {p95:7.1f} "
            f"{p95 - base:10.1f}"
        )
    await container.close()
    await container.database.dispose()


def main() -> None:
    """On ``BENCH_VOLUME_URL`` as found, or on a scratch database dropped afterwards."""
    if len(sys.argv) == 5 and sys.argv[1] == "--job":
        asyncio.run(job(sys.argv[2], sys.argv[3], float(sys.argv[4])))
        return
    on_volume_database("bench_sweeps", run)


if __name__ == "__main__":
    main()
