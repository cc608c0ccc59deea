"""Publishing a model version: only when its own test cases pass; then it is sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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


def publish_model(path: Path, now: datetime) -> PublishResult:
    """Run the version's tests; if all pass, mark it published and seal its content hash.

    Publishing an already-published, unchanged version is a no-op; a retired version
    cannot be published again.
    """
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
    write_model_file(path, published)
    return PublishResult(published, True, report)


def retire_model(path: Path) -> DecisionModel:
    """Mark a published version retired: kept for explanations, never chosen again."""
    model = load_model_file(path)
    if model.metadata.status is not ModelStatus.PUBLISHED:
        raise Conflict(
            f"{model.ref} is {model.metadata.status.value}; only published versions retire"
        )
    retired = model.model_copy(
        update={"metadata": model.metadata.model_copy(update={"status": ModelStatus.RETIRED})}
    )
    write_model_file(path, retired)
    return retired
