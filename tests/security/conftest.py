"""Fixtures for the attack suite: the platform on a real port, wired like ``civicloom serve``.

The departments answer in-process (tests/integration/backoffice/world.py); the payment
provider is the payment simulator as a real process (it calls our webhook over HTTP).
The demo personas get two more members: Erik, supervisor of the environment department (the
demo has a supervisor only in local-admin), and Otto, an officer of local-admin without the
licensing-officer role the licensing step asks for.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.applications import StepRunner
from civicloom.bootstrap import build_registry, wire_departments
from civicloom.identity import demo_staff, load_demo_staff
from civicloom.runtime import Container
from tests.integration.backoffice.world import Departments
from tests.security.world import Platform
from tests.simulators.harness import SimProcess, start_sim
from tests.wiring import reconfigure

WEBHOOK_SECRET = "security-suite-webhook-secret"
EXTRA_PERSONAS = (
    "  - {id: otto, name: Otto Weber, roles: [officer], department: local-admin, "
    'description: "Officer, Local Administration, not a licensing officer (attack suite)", '
    "email: otto.weber@local-admin.example.gov, locale: en, preferred_channels: [email]}\n"
    "  - {id: erik, name: Erik Berg, roles: [officer, supervisor], department: environment, "
    'description: "Supervisor, Environment Department (attack suite only)", '
    "email: erik.berg@environment.example.gov, locale: en, preferred_channels: [email]}\n"
)


@pytest.fixture(scope="module")
def payment_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """The payment provider simulator as a real process."""
    workdir: Path = tmp_path_factory.mktemp("security-payments-sim")
    sim = start_sim("payments", workdir, env={"SIM_PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET})
    try:
        yield sim
    finally:
        sim.stop()


def blueprints_with_more_staff(source: Path, target: Path) -> Path:
    """A copy of the blueprints whose personas include a supervisor of another department."""
    shutil.copytree(source, target)
    personas = target / "demo" / "personas.yaml"
    personas.write_text(personas.read_text(encoding="utf-8") + EXTRA_PERSONAS, encoding="utf-8")
    return target


@pytest.fixture
async def platform(
    container: Container, payment_sim: SimProcess, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The platform on a free port with the payment simulator and in-process departments."""
    payment_sim.reset()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    blueprints = blueprints_with_more_staff(
        container.settings.blueprints_dir, tmp_path / "blueprints"
    )
    reconfigure(
        container,
        container.settings.model_copy(
            update={
                "public_url": url,
                "blueprints_dir": blueprints,
                "payments_provider_url": payment_sim.url,
                "payments_webhook_secret": SecretStr(WEBHOOK_SECRET),
                "login_rate_per_minute": 100_000,
                "submission_rate_per_minute": 100_000,
            }
        ),
    )
    # The extra staff join the directory as `demo load` would have put them there.
    async with container.uow() as uow:
        await load_demo_staff(uow.session, demo_staff(blueprints), container.clock.now())
        await uow.commit()
    departments = Departments()
    wire_departments(container, build_registry(container.settings), departments.gateway())
    app = create_app(container)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=600,  # callers sit idle while the world is built
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(250):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started, "the platform did not start"
        yield Platform(
            container=container,
            url=url,
            sim=payment_sim,
            departments=departments,
            runner=StepRunner(container, departments.gateway()),
        )
    finally:
        server.should_exit = True
        await task
        sock.close()
