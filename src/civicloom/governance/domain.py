"""Change requests: what a department proposes to change, who must approve it, and when it
takes effect. Pure: no database, no web (ADR 0049)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ChangeKind(StrEnum):
    """What a change request changes; each kind has its files and its owners."""

    BLUEPRINT = "blueprint"  # a service's blueprint (may carry the decision models it pins)
    DECISION_MODEL = "decision-model"
    TEMPLATE = "template"
    AGREEMENT = "agreement"
    TARIFF = "tariff"


class ChangeState(StrEnum):
    """Where a change request is in its life."""

    DRAFT = "draft"  # the author edits it; nobody approves a draft
    SUBMITTED = "submitted"  # checks ran; awaiting every owner's and the central approval
    APPROVED = "approved"  # every approval given; published by the worker at its date
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"  # the author (or a refusing approver) ended it; nothing published


CENTRAL = "central"  # the central digital team's quality gate (a party, not a department)
RULE_OWNER = "rule-owner"  # approves for its department the parts that department owns
QUALITY_GATE = "quality-gate"  # the central team's reviewer
AUTHOR_ROLES = frozenset({"service-owner", RULE_OWNER})


@dataclass(frozen=True)
class ApprovedChange:
    """An approved (or published) change, as a signed bundle carries it to another
    environment: its files are the draft artifacts, keyed by path under ``blueprints/``."""

    id: str
    kind: str
    target: str
    title: str
    files: Mapping[str, str]
    approvals: tuple[tuple[str, str], ...]  # (department or "central", approver subject)
    effective_at: datetime | None


@dataclass(frozen=True)
class CheckResult:
    """One automatic check of a submitted draft: its name, whether it passed and what it
    found (readable lines; the message ids are translated where shown)."""

    name: str
    passed: bool
    lines: tuple[str, ...] = ()
    # values substituted into the lines when shown (translated text with placeholders)
    params: tuple[Mapping[str, str | int], ...] = ()


@dataclass(frozen=True)
class DiffLine:
    """One semantic difference: a message id with its values and the part's owner."""

    part: str  # "field", "step", "sla", "fee", "rule", "template", "file"
    message: str  # gettext message id with %(name)s placeholders
    params: Mapping[str, str | int] = field(default_factory=dict)
    owner: str | None = None  # the department that owns the touched part


@dataclass(frozen=True)
class Approval:
    """One party's approval of a change request."""

    party: str
    approver: str
    approver_name: str
    at: datetime


@dataclass(frozen=True)
class ChangeRequest:
    """A proposed change, its draft files, checks, diff, required parties and approvals."""

    id: str
    kind: ChangeKind
    target: str
    title: str
    state: ChangeState
    author: str
    author_name: str
    author_department: str | None
    files: Mapping[str, str]
    base_files: Mapping[str, str]
    required: tuple[str, ...]
    approvals: tuple[Approval, ...]
    checks: tuple[CheckResult, ...]
    diff: tuple[DiffLine, ...]
    effective_at: datetime | None
    created_at: datetime
    submitted_at: datetime | None = None
    published_at: datetime | None = None
    source_environment: str | None = None
    bundle_id: str | None = None
    # how running applications may move to the new version (ADR 0058); None: they stay
    migration: Mapping[str, Any] | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """The parties whose approval is still needed."""
        given = {a.party for a in self.approvals}
        return tuple(p for p in self.required if p not in given)

    @property
    def checks_passed(self) -> bool:
        """Whether every automatic check passed."""
        return all(c.passed for c in self.checks)

    def approved_change(self) -> ApprovedChange:
        """The change as a bundle carries it."""
        return ApprovedChange(
            id=self.id,
            kind=self.kind.value,
            target=self.target,
            title=self.title,
            files=dict(self.files),
            approvals=tuple((a.party, a.approver) for a in self.approvals),
            effective_at=self.effective_at,
        )
