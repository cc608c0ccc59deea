"""Step kinds: one module per kind, and the registry the engine and worker look them up in.

A new step kind is one module here (a ``WorkerKind`` or ``EngineKind`` subclass) plus its line
in ``STEP_KINDS`` (ADR 0030).
"""

from civicloom.applications.steps.applicant_action import ApplicantActionStep
from civicloom.applications.steps.automated import AutomatedStep
from civicloom.applications.steps.base import (
    Activation,
    ClaimedStep,
    EngineKind,
    StepExecutor,
    StepHandler,
    StepKindHandler,
    WorkerKind,
    WorkerTools,
    due_after,
    title_of,
)
from civicloom.applications.steps.issue_document import IssueDocumentStep
from civicloom.applications.steps.notify import NotifyStep
from civicloom.applications.steps.officer_review import OfficerReviewStep
from civicloom.applications.steps.payment import PaymentStep
from civicloom.applications.steps.registry import (
    StepKinds,
    UnknownStepKind,
    current_step_kinds,
    use_step_kinds,
)
from civicloom.applications.steps.timer import TimerStep

# The platform's step kinds: one handler per ``StepKind``.
STEP_KINDS = StepKinds(
    [
        AutomatedStep(),
        OfficerReviewStep(),
        ApplicantActionStep(),
        PaymentStep(),
        IssueDocumentStep(),
        NotifyStep(),
        TimerStep(),
    ]
)


def step_kinds() -> StepKinds:
    """The registry in force: the one ``use_step_kinds`` installed, else ``STEP_KINDS``."""
    return current_step_kinds(STEP_KINDS)


__all__ = [
    "STEP_KINDS",
    "Activation",
    "ClaimedStep",
    "EngineKind",
    "StepExecutor",
    "StepHandler",
    "StepKindHandler",
    "StepKinds",
    "UnknownStepKind",
    "WorkerKind",
    "WorkerTools",
    "due_after",
    "step_kinds",
    "title_of",
    "use_step_kinds",
]
