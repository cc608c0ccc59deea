"""``issue_document``: issue the service's output document (the licence).

The executor belongs to the documents module; the composition root plugs it in
(``StepKinds.with_executors``), so without it the step fails as unconfigured.
"""

from __future__ import annotations

from civicloom.applications.steps.base import WorkerKind
from civicloom.catalogue import StepKind


class IssueDocumentStep(WorkerKind):
    """Queued for a worker, which runs the documents module's issuer."""

    kind = StepKind.ISSUE_DOCUMENT
