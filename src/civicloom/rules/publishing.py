"""Publishing a model version: only when its own test cases pass; then it is sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.db import UnitOfWork
from civicloom.kernel import Conflict, FieldError, ValidationFailed
from civicloom.rules.domain import DecisionModel, ModelStatus, TestReport
from civicloom.rules.engine import run_tests
from civicloom.rules.loader import load_model_file, tests_path, write_model_file


class ModelTestsFailed(ValidationFailed):
    """Publication refused: the model's own test cases do not pass."""

    def __init__(self, model: DecisionModel, report: TestReport) -> None:
        where = str(tests_path(Path(model.source))) if model.source else str(model.ref)
        errors = [FieldError(where, "model", p) for p in report.problems]
        for i, case in enumerate(report.results):
            if not case.passed:
                detail = case.error or "; ".join(case.mismatches)
                errors.append(
                    FieldError(f"{where}:cases[{i}]", "test-case", f"{case.case}: {detail}")
                )
        super().__init__(errors, f"{model.ref} cannot be published: {len(errors)} failing check(s)")
        self.report = report


@dataclass(frozen=True)
class PublishResult:
    """What publishing did."""

    model: DecisionModel
    newly_published: bool
    report: TestReport


def prepare_publication(path: Path, now: datetime) -> PublishResult:
    """What publishing the version would store (its tests run; nothing is written yet)."""
    model = load_model_file(path)  # refuses a published version whose content changed
    report = run_tests(model)
    if model.metadata.status is ModelStatus.RETIRED:
        raise Conflict(f"{model.ref} is retired; publish a new version instead")
    if not report.passed:
        raise ModelTestsFailed(model, report)
    if model.metadata.status is ModelStatus.PUBLISHED:
        return PublishResult(model, False, report)
    metadata = model.metadata.model_copy(
        update={
            "status": ModelStatus.PUBLISHED,
            "content_hash": model.content_hash(),
            "published_at": now,
        }
    )
    published = model.model_copy(update={"metadata": metadata})
    return PublishResult(published, True, report)


def publish_model(path: Path, now: datetime) -> PublishResult:
    """Run the version's tests; if all pass, mark it published and seal its content hash.

    Publishing an already-published, unchanged version is a no-op; a retired version
    cannot be published again.
    """
    result = prepare_publication(path, now)
    if result.newly_published:
        write_model_file(path, result.model)
    return result


def prepare_retirement(path: Path) -> DecisionModel:
    """The version as retiring it would store it (nothing is written yet)."""
    model = load_model_file(path)
    if model.metadata.status is not ModelStatus.PUBLISHED:
        raise Conflict(
            f"{model.ref} is {model.metadata.status.value}; only published versions retire"
        )
    return model.model_copy(
        update={"metadata": model.metadata.model_copy(update={"status": ModelStatus.RETIRED})}
    )


def retire_model(path: Path) -> DecisionModel:
    """Mark a published version retired: kept for explanations, never chosen again."""
    retired = prepare_retirement(path)
    write_model_file(path, retired)
    return retired


def _audit(model: DecisionModel, action: AuditAction, actor: str, now: datetime) -> AuditRecord:
    return AuditRecord(
        actor=actor,
        action=action,
        subject_type="decision_model",
        subject_id=model.ref.key,
        occurred_at=now,
        department=model.department,
        details={"version": model.version, "content_hash": model.metadata.content_hash},
    )


# Models are files; their audit entry is committed before the file is written, so a failed
# write leaves an entry and an unchanged file (publishing again repeats both), never a
# published model without its entry.


async def publish_decision_model(
    uow: UnitOfWork, path: Path, now: datetime, *, actor: str
) -> PublishResult:
    """Publish a model version (its tests must pass), audited as ``decision_model.published``."""
    result = prepare_publication(path, now)
    if not result.newly_published:
        return result
    async with uow:
        await append_audit(
            uow.session, _audit(result.model, AuditAction.DECISION_MODEL_PUBLISHED, actor, now)
        )
        await uow.commit()
    write_model_file(path, result.model)
    return result


async def retire_decision_model(
    uow: UnitOfWork, path: Path, now: datetime, *, actor: str
) -> DecisionModel:
    """Retire a published model version, audited as ``decision_model.retired``."""
    retired = prepare_retirement(path)
    async with uow:
        await append_audit(
            uow.session, _audit(retired, AuditAction.DECISION_MODEL_RETIRED, actor, now)
        )
        await uow.commit()
    write_model_file(path, retired)
    return retired
