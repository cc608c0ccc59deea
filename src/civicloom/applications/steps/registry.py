"""The registry of step-kind handlers, keyed by ``StepKind``.

The engine and the worker look every step's kind up here. The platform's registry holds the
built-in kinds (``STEP_KINDS``); a registry is a plain value, so a test (or a deployment's
composition root) builds another one with ``with_handlers``/``with_executors`` and installs it
for a block of work with ``use_step_kinds``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext
from civicloom.applications.steps.base import (
    Activation,
    ClaimedStep,
    StepExecutor,
    StepKindHandler,
    WorkerTools,
)
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import Step
from civicloom.departments import CapabilityResult


class UnknownStepKind(ValueError):
    """A step names a kind no handler is registered for."""

    def __init__(self, kind: str, known: Iterable[str]) -> None:
        super().__init__(
            f"no handler for step kind {kind!r} (known kinds: {', '.join(sorted(known))})"
        )
        self.kind = kind


class _WithExecutor:
    """A worker kind whose execution is provided from outside (e.g. the documents module)."""

    def __init__(self, inner: StepKindHandler, executor: StepExecutor) -> None:
        self.inner = inner
        self.executor = executor

    @property
    def kind(self) -> str:
        return self.inner.kind

    @property
    def automated(self) -> bool:
        return True

    async def activate(
        self, session: AsyncSession, case: CaseContext, task: TaskRow, step: Step, now: datetime
    ) -> Activation:
        return await self.inner.activate(session, case, task, step, now)

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        return await self.executor(claimed)


class StepKinds(Mapping[str, StepKindHandler]):
    """Step-kind handlers by kind; immutable (``with_…`` return a new registry)."""

    def __init__(self, handlers: Iterable[StepKindHandler]) -> None:
        self._handlers: dict[str, StepKindHandler] = {}
        for handler in handlers:
            self._handlers[str(handler.kind)] = handler

    def __getitem__(self, kind: str) -> StepKindHandler:
        try:
            return self._handlers[str(kind)]
        except KeyError:
            raise UnknownStepKind(str(kind), self._handlers) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)

    def require(self, kinds: Iterable[str]) -> None:
        """Raise ``UnknownStepKind`` for the first kind without a handler."""
        for kind in kinds:
            self[kind]

    def with_handlers(self, *handlers: StepKindHandler) -> StepKinds:
        """This registry plus (or with replaced) handlers."""
        return StepKinds([*self._handlers.values(), *handlers])

    def with_executors(self, executors: Mapping[str, StepExecutor]) -> StepKinds:
        """This registry with the worker's execution of some kinds provided from outside."""
        for kind in executors:
            if not self[kind].automated:
                raise ValueError(f"{kind!r} steps are not run by a worker: no executor applies")
        return StepKinds(
            _WithExecutor(handler, executors[kind]) if kind in executors else handler
            for kind, handler in self._handlers.items()
        )


_CURRENT: ContextVar[StepKinds | None] = ContextVar("civicloom_step_kinds", default=None)


def current_step_kinds(default: StepKinds) -> StepKinds:
    """The registry in force for this task (the platform's unless one is installed)."""
    return _CURRENT.get() or default


@contextmanager
def use_step_kinds(kinds: StepKinds) -> Iterator[StepKinds]:
    """Install a registry for the work done inside the block (a worker's, a test's)."""
    token = _CURRENT.set(kinds)
    try:
        yield kinds
    finally:
        _CURRENT.reset(token)
