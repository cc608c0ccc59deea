"""Receiving a signed callback: verify, refuse replays, hand each answer over exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civicloom.connectors.amqp import AmqpConnector
from civicloom.connectors.base import body_hash
from civicloom.connectors.callback import CallbackRejected, CallbackVerifier
from civicloom.connectors.filedrop import FileDropConnector
from civicloom.connectors.tables import ConnectorBatchAnswerRow, ConnectorCallbackRow
from civicloom.db import UnitOfWork
from civicloom.departments import (
    CompletionRefusal,
    CompletionVerdict,
    ContractViolation,
    ExternalCompletion,
)
from civicloom.kernel import Clock
from civicloom.observability import get_logger
from civicloom.runtime import Key

log = get_logger("civicloom.connectors.callbacks")
CompletionHandler = Callable[[ExternalCompletion], Awaitable[object]]
CompletionCheck = Callable[[str, ExternalCompletion], None]

CALLBACK_VERIFIERS: Key[Mapping[str, CallbackVerifier]] = Key("callback verifiers")
"""How each department with a callback connector signs its callbacks (by department id)."""
COMPLETION_HANDLER: Key[CompletionHandler] = Key("completion handler")
"""Where verified answers from outside go: the case engine's ``complete_external_step``."""


_NOT_THEIRS = "no task of this department waits for an answer under this key"
REFUSAL_RULES: dict[CompletionRefusal, tuple[str, str]] = {
    CompletionRefusal.UNKNOWN_TASK: ("task-of-sender", _NOT_THEIRS),
    CompletionRefusal.WRONG_DEPARTMENT: ("task-of-sender", _NOT_THEIRS),
    CompletionRefusal.WRONG_STEP_KIND: (
        "step-kind-of-sender",
        "this department cannot answer that kind of step (a payment, an officer's task)",
    ),
    CompletionRefusal.WRONG_CAPABILITY: (
        "capability-of-task",
        "the answer is for another capability than the task's",
    ),
    CompletionRefusal.NOT_WAITING: ("task-waiting", "the task is not waiting for an answer"),
    CompletionRefusal.CASE_CLOSED: ("case-open", "the application is already decided"),
}
"""The rule a refused answer broke and what the department is told (ADR 0032). An unknown key
and another department's key read the same, so a refusal does not reveal which keys exist."""


class CallbackResult(StrEnum):
    """What happened to a verified callback."""

    ACCEPTED = "accepted"  # handed to the engine
    DUPLICATE = "duplicate"  # the request was already answered; acknowledged, not handed over


async def receive_callback(
    uow: UnitOfWork,
    clock: Clock,
    verifier: CallbackVerifier,
    headers: Mapping[str, str],
    raw_body: bytes,
    handler: CompletionHandler,
    check: CompletionCheck | None = None,
) -> CallbackResult:
    """Verify a callback, refuse a replay, validate it, hand a first answer to the engine.

    The handler (the engine's ``complete_external_step``) must itself be idempotent: the
    seen-set is written after it returns, so a crash in between repeats the hand-over rather
    than losing the answer.
    """
    now = clock.now()
    try:
        verified = verifier.verify(headers, raw_body, now)
    except CallbackRejected as exc:
        log.warning("callback_rejected", department=verifier.department, reason=exc.reason)
        raise
    completion = verified.completion
    async with uow:
        if await uow.session.get(ConnectorCallbackRow, verified.signature) is not None:
            log.warning("callback_rejected", department=verifier.department, reason="replay")
            raise CallbackRejected("replay", "this callback was already received")
        answered = await uow.session.scalar(
            select(ConnectorCallbackRow.signature)
            .where(ConnectorCallbackRow.department == verifier.department)
            .where(ConnectorCallbackRow.idempotency_key == completion.idempotency_key)
            .limit(1)
        )
    result = CallbackResult.DUPLICATE if answered else CallbackResult.ACCEPTED
    if result is CallbackResult.ACCEPTED:
        if check is not None and verifier.capability:
            try:
                check(verifier.capability, completion)
            except ContractViolation as exc:
                raise CallbackRejected("contract", str(exc)) from exc
        verdict = await handler(completion)
        if isinstance(verdict, CompletionVerdict) and verdict.refusal is not None:
            # Refused by the engine (audited there): not recorded as received, nothing else.
            log.warning(
                "callback_rejected",
                department=verifier.department,
                reason=verdict.refusal.value,
            )
            rule, message = REFUSAL_RULES[verdict.refusal]
            raise CallbackRejected(rule, message)
    async with uow:
        uow.session.add(
            ConnectorCallbackRow(
                signature=verified.signature,
                department=verifier.department,
                idempotency_key=completion.idempotency_key,
                signed_at=datetime.fromtimestamp(verified.timestamp, UTC),
                received_at=now,
                outcome=result.value,
            )
        )
        try:
            await uow.commit()
        except IntegrityError as exc:  # the same delivery raced itself
            raise CallbackRejected("replay", "this callback was already received") from exc
    log.info(
        "callback_received",
        department=verifier.department,
        key_sha256=body_hash(completion.idempotency_key),
        result=result.value,
    )
    return result


async def collect_batch_answers(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    exchange: FileDropConnector,
    handler: CompletionHandler,
) -> int:
    """Hand every new batch-file answer to the engine, then remember it, then move the file.

    An answer the engine refused only because its step will call again (``waits_again``) is
    not remembered: the answer to the next call under the same key is handed over too.

    The order is what makes the exchange safe to share and to crash in: an answer is recorded
    in the database seen-set only after the handler (the engine's idempotent
    ``complete_external_step``) has committed it, and its file leaves ``outbound/`` only after
    every answer in it is recorded. A worker dying anywhere in between hands the same answer
    over again on the next run, which the engine takes at most once; two workers reading one
    file both record it and one of them moves it. Returns how many answers were handed over.
    """
    handed = 0
    for answer_file in await exchange.read_answers():
        keys = [c.idempotency_key for c in answer_file.answers]
        async with uow() as unit:
            seen = (
                set(
                    await unit.session.scalars(
                        select(ConnectorBatchAnswerRow.idempotency_key)
                        .where(ConnectorBatchAnswerRow.department == exchange.department)
                        .where(ConnectorBatchAnswerRow.idempotency_key.in_(keys))
                    )
                )
                if keys
                else set()
            )
        for completion in answer_file.answers:
            if completion.idempotency_key in seen:
                continue
            verdict = await handler(completion)
            handed += 1
            if isinstance(verdict, CompletionVerdict) and verdict.waits_again:
                # Refused only because the step is between a timed-out wait and its next call:
                # the department's answer to that call (same key) must still be taken.
                continue
            await _remember_answer(
                uow(), clock, exchange.department, completion, answer_file.sha256
            )
        await asyncio.to_thread(exchange.acknowledge, answer_file)
    return handed


async def _remember_answer(
    uow: UnitOfWork, clock: Clock, department: str, completion: ExternalCompletion, sha: str
) -> None:
    async with uow:
        uow.session.add(
            ConnectorBatchAnswerRow(
                department=department,
                idempotency_key=completion.idempotency_key,
                file_sha256=sha,
                recorded_at=clock.now(),
            )
        )
        with contextlib.suppress(IntegrityError):  # another worker recorded it first
            await uow.commit()


def checked_handler(check: CompletionCheck, handler: CompletionHandler) -> CompletionHandler:
    """``handler`` for answers that must first match their capability's output schema."""

    async def handle(completion: ExternalCompletion) -> object:
        if completion.capability:
            check(completion.capability, completion)  # ContractViolation: never takeable
        return await handler(completion)

    return handle


async def keep_listening(source: AmqpConnector, handler: CompletionHandler) -> int:
    """Keep a department's completion-event consumer running (started again after the broker
    or the connection went away). Events are handed over as they arrive, so this hands over
    nothing itself: returns 0. A broker that is away is logged, never fails the cycle."""
    try:
        await source.listen_for_completions(handler)
    except Exception as exc:
        log.warning("event_listener_down", department=source.department, error=type(exc).__name__)
    return 0
