"""``payment``: the applicant pays the fee; the payments module completes the step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext, add_timeline, emit
from civicloom.applications.domain import TaskState
from civicloom.applications.steps.base import Activation, EngineKind
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Step, StepKind
from civicloom.outbox import EventType


class PaymentStep(EngineKind):
    """Asks for the fee in the step's input; waits for the provider's confirmation."""

    kind = StepKind.PAYMENT

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        """Request the payment."""
        task.state = TaskState.AWAITING_EXTERNAL.value
        amount = (task.input or {}).get("amount")
        currency = (task.input or {}).get("currency", "")
        add_timeline(
            session,
            case.app,
            now,
            "payment.requested",
            f"Pay the fee of {amount} {currency}".strip(),
            task,
        )
        await emit(
            session,
            case.app,
            now,
            EventType.PAYMENT_REQUESTED,
            {
                "task_id": task.id,
                "amount": amount,
                "currency": currency,
                "payment_key": task.idempotency_key,
            },
            key=f"payment.requested:{task.id}",
        )
        return Activation.WAITS
