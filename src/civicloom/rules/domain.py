"""Decision model entities: references, versions with effective dates, decisions and test cases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloom.kernel import LocalisedText, canonical_json, sha256_hex

_REF = re.compile(
    r"^(?P<dept>[a-z][a-z0-9-]{1,48})/(?P<model>[a-z][a-z0-9-]{1,60})(@(?P<v>[0-9]+))?$"
)


@dataclass(frozen=True)
class ModelRef:
    """``<department>/<model-id>`` with an optional ``@<version>`` pin."""

    department: str
    model: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Parse ``local-admin/licence-fee`` or ``local-admin/licence-fee@2``."""
        match = _REF.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a model reference like 'department/model-id[@N]'")
        version = match.group("v")
        return cls(match.group("dept"), match.group("model"), int(version) if version else None)

    @property
    def key(self) -> str:
        """The model's identity without a version."""
        return f"{self.department}/{self.model}"

    def __str__(self) -> str:
        return self.key if self.version is None else f"{self.key}@{self.version}"


class ModelStatus(StrEnum):
    """Lifecycle of a decision model version."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class ModelMetadata(BaseModel):
    """What a department declares about one version of a model (the ``metadata`` key)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=0, description="0 only for an unnumbered what-if candidate.")
    title: LocalisedText | None = None
    description: str | None = None
    status: ModelStatus = ModelStatus.DRAFT
    valid_from: date
    valid_to: date | None = None
    content_hash: str | None = Field(
        None, description="Set when published: SHA-256 of the JDM content; seals the version."
    )
    published_at: datetime | None = None
    # The department's words in each language for what the model shows a person (its title
    # aside): rule descriptions, node and output names, output values such as a reason code,
    # keyed by the text as the model writes it. Outside the sealed content: translating a
    # version never changes what it decides (ADR 0070).
    texts: dict[str, LocalisedText] | None = None


class TestCase(BaseModel):
    """Given this input, the model must produce (at least) this output."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(extra="forbid")

    name: str
    input: dict[str, Any]
    expect: dict[str, Any]


class DecisionModel(BaseModel):
    """One version of a department's decision model: JDM content, metadata and test cases."""

    model_config = ConfigDict(frozen=True)

    department: str
    model: str
    metadata: ModelMetadata
    content: dict[str, Any]
    tests: tuple[TestCase, ...] = ()
    source: str | None = None  # file it was read from, for messages

    @property
    def ref(self) -> ModelRef:
        """Reference pinned to this version."""
        return ModelRef(self.department, self.model, self.metadata.version)

    @property
    def version(self) -> int:
        """Version number."""
        return self.metadata.version

    def content_hash(self) -> str:
        """SHA-256 of the canonical JDM content (nodes and edges): the version's identity."""
        return sha256_hex(canonical_json(self.content))

    def in_effect(self, on: date) -> bool:
        """Whether ``on`` falls inside the version's validity window (valid_to is exclusive)."""
        md = self.metadata
        return md.valid_from <= on and (md.valid_to is None or on < md.valid_to)

    def output_fields(self) -> frozenset[str]:
        """Top-level output names the model can produce (decision table outputs, expressions)."""
        names: set[str] = set()
        for node in self.content.get("nodes", []):
            content = node.get("content") or {}
            if node.get("type") == "decisionTableNode":
                names.update(
                    str(o.get("field", "")).split(".")[0] for o in content.get("outputs", [])
                )
            elif node.get("type") == "expressionNode":
                names.update(
                    str(e.get("key", "")).split(".")[0] for e in content.get("expressions", [])
                )
        names.discard("")
        return frozenset(names)

    def output_labels(self) -> dict[str, str]:
        """The names the department gave its decision table outputs, by output field."""
        labels: dict[str, str] = {}
        for node in self.content.get("nodes", []):
            if node.get("type") == "decisionTableNode":
                for o in (node.get("content") or {}).get("outputs", []):
                    field = str(o.get("field", "")).split(".")[0]
                    if field and o.get("name"):
                        labels.setdefault(field, str(o["name"]))
        return labels

    def say(self, text: str, locale: str) -> str:
        """A text of the model (a description, a name, a reason code) in a language; the text
        as written when the department gave it no words."""
        words = (self.metadata.texts or {}).get(text)
        return words.get(locale) if words is not None else text

    def describe_rule(self, node_id: str, rule_id: str) -> str | None:
        """The ``_description`` a department wrote on a decision table row, if any."""
        for node in self.content.get("nodes", []):
            if node.get("id") == node_id:
                for rule in (node.get("content") or {}).get("rules", []):
                    if rule.get("_id") == rule_id:
                        text = rule.get("_description")
                        return str(text) if text else None
        return None


@dataclass(frozen=True)
class RuleFired:
    """One decision table row that matched, or one expression node that ran."""

    node_id: str
    node_name: str
    rule_id: str | None = None
    description: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON for storage."""
        return {
            "node_id": self.node_id,
            "node_name": self.node_name,
            "rule_id": self.rule_id,
            "description": self.description,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating a model: output plus which version decided it and why."""

    model: str  # "<department>/<model-id>"
    version: int
    content_hash: str
    input: dict[str, Any]
    output: dict[str, Any]
    rules: tuple[RuleFired, ...] = ()
    trace: dict[str, Any] = field(default_factory=dict)

    @property
    def department(self) -> str:
        """The department that owns the model."""
        return self.model.split("/", 1)[0]

    def explain(self) -> str:
        """One readable line: which rules fired in which version."""
        fired = "; ".join(
            f"{r.node_name}: {r.description or r.rule_id or 'evaluated'}" for r in self.rules
        )
        outcome = canonical_json(self.output)
        return f"{self.model} v{self.version} → {outcome} because {fired or 'no rule matched'}"


@dataclass(frozen=True)
class CaseResult:
    """The result of one test case."""

    case: str
    passed: bool
    expected: dict[str, Any]
    actual: dict[str, Any] | None
    mismatches: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class TestReport:
    """All test cases of one model version."""

    __test__ = False

    model: str
    version: int
    results: tuple[CaseResult, ...]
    problems: tuple[str, ...] = ()  # the model itself is broken (does not load or compile)

    @property
    def passed(self) -> bool:
        """True when the model loads, has at least one case, and every case passes."""
        return not self.problems and bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        """The failing cases."""
        return tuple(r for r in self.results if not r.passed)
