"""Batch answer files are read only when signed with the department's key, and a signed answer
still completes only that department's own waiting task (ADR 0032).

On the old main an answer file carried an unkeyed SHA-256: anyone who could write to the
exchange directory could finish any task whose key they knew.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from civicloom.applications import complete_external_step
from civicloom.connectors import (
    FileDropConnector,
    build_connectors,
    collect_batch_answers,
    dev_secret,
)
from civicloom.departments import (
    CapabilityCall,
    CapabilityResult,
    CompletionVerdict,
    ExternalCompletion,
    load_departments,
)
from civicloom.settings import PROJECT_ROOT
from simulators.local_admin.batchfile import RESPONSE_HEADER, render_csv, with_trailer
from tests.integration.engine.binding import (
    AcceptEverything,
    binding_blueprint,
    keys_of,
    refusals,
    snapshot,
)
from tests.integration.engine.conftest import Engine
from tests.integration.engine.conftest import engine as engine

ZONED = {"status": "ok", "reference": "commercial", "message": ""}


@pytest.fixture
async def batch(engine: Engine) -> AsyncIterator[tuple[Engine, str, FileDropConnector]]:
    """A binding-test case waiting for answers, and the local administration's batch exchange
    as the platform builds it (its batch secret generated for this var_dir)."""
    registry = build_connectors(
        load_departments(PROJECT_ROOT / "blueprints"), engine.container.settings, {}
    )
    connector = registry.connector("local-admin", "batch")
    assert isinstance(connector, FileDropConnector)
    others = AcceptEverything()

    class Gateway:
        """The zoning check goes out as a signed request file; other departments accept."""

        async def call(self, call: CapabilityCall) -> CapabilityResult:
            if call.capability == "local-admin.zoning_check":
                return await connector.call(call)
            return await others.call(call)

    engine.runner.gateway = Gateway()
    await engine.publish(binding_blueprint())
    app_id = await engine.submit(service="binding-test")
    await engine.drain()
    assert len(list(connector.inbound.glob("REQ_*.csv"))) == 1
    yield engine, app_id, connector
    await registry.close()


def answer_file(key: str, secret: str) -> bytes:
    """A response file as the department's batch system writes it (the simulator's signer)."""
    return with_trailer(render_csv(RESPONSE_HEADER, [{"idempotency_key": key, **ZONED}]), secret)


async def deliver(engine: Engine, connector: FileDropConnector) -> list[CompletionVerdict]:
    """What the worker does with the exchange: hand every new answer to the engine."""
    verdicts: list[CompletionVerdict] = []

    async def handler(completion: ExternalCompletion) -> CompletionVerdict:
        verdicts.append(await complete_external_step(engine.container, completion))
        return verdicts[-1]

    container = engine.container
    await collect_batch_answers(container.uow, container.clock, connector, handler)
    return verdicts


async def test_the_batch_secret_is_generated_per_var_dir_not_a_constant(
    batch: tuple[Engine, str, FileDropConnector],
) -> None:
    engine, _, connector = batch
    secret = dev_secret(engine.container.settings, "local-admin.batch")
    assert connector.secret == secret
    assert len(secret) >= 40
    assert secret != dev_secret(engine.container.settings, "environment.callback")
    path = engine.container.settings.var_dir / "dev-secrets" / "local-admin.batch"
    assert path.stat().st_mode & 0o777 == 0o600


async def test_forged_answer_files_are_not_consumed(
    batch: tuple[Engine, str, FileDropConnector],
) -> None:
    engine, app_id, connector = batch
    key = (await keys_of(engine.container, app_id))["zoning"]
    body = render_csv(RESPONSE_HEADER, [{"idempotency_key": key, **ZONED}])
    connector.outbound.mkdir(parents=True, exist_ok=True)
    (connector.outbound / "RSP_unkeyed.csv").write_bytes(
        body + f"#sha256={hashlib.sha256(body).hexdigest()}\n".encode()
    )
    (connector.outbound / "RSP_guessed.csv").write_bytes(answer_file(key, "a-guessed-key"))
    before = await snapshot(engine.container, app_id)
    assert await deliver(engine, connector) == []
    assert (
        await snapshot(engine.container, app_id) == before
    )  # nothing recorded, not even a refusal
    assert sorted(p.name for p in (connector.root / "quarantine").glob("*.csv")) == [
        "RSP_guessed.csv",
        "RSP_unkeyed.csv",
    ]
    assert not (connector.root / "consumed").exists()
    # the key was not spent: the department's signed answer still completes the step
    (connector.outbound / "RSP_real.csv").write_bytes(answer_file(key, connector.secret))
    verdicts = await deliver(engine, connector)
    assert [v.accepted for v in verdicts] == [True]
    task = (await snapshot(engine.container, app_id)).tasks["zoning"]
    assert task[:2] == (
        "completed",
        {"allowed": True, "reason": "", "status": "ok", "zone": "commercial"},
    )


async def test_a_signed_file_still_answers_only_the_departments_own_steps(
    batch: tuple[Engine, str, FileDropConnector],
) -> None:
    engine, app_id, connector = batch
    keys = await keys_of(engine.container, app_id)
    connector.outbound.mkdir(parents=True, exist_ok=True)
    for step in ("payment", "screening", "review"):
        (connector.outbound / f"RSP_{step}.csv").write_bytes(
            answer_file(keys[step], connector.secret)
        )
    before = await snapshot(engine.container, app_id)
    verdicts = await deliver(engine, connector)
    assert sorted(str(v.refusal) for v in verdicts) == [
        "wrong-department",
        "wrong-step-kind",
        "wrong-step-kind",
    ]
    after = await snapshot(engine.container, app_id)
    assert (after.app, after.tasks, after.timeline, after.outbox) == (
        before.app,
        before.tasks,
        before.timeline,
        before.outbox,
    )
    assert [(sender, d["reason"]) for _, sender, d in await refusals(engine.container)] == [
        ("local-admin", "wrong-step-kind"),  # RSP_payment.csv: the fee is not theirs to confirm
        ("local-admin", "wrong-step-kind"),  # RSP_review.csv: an officer decides that
        ("local-admin", "wrong-department"),  # RSP_screening.csv: the environment's step
    ]
