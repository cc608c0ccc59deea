"""The rule book: every loaded model version, compiled once, chosen by reference and date."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from civicloom.kernel import NotFound
from civicloom.rules.domain import Decision, DecisionModel, ModelRef, ModelStatus
from civicloom.rules.engine import CompiledModel
from civicloom.rules.loader import load_models
from civicloom.runtime import Key


class RuleBook:
    """Decision models of all departments, by ``department/model`` and version."""

    def __init__(self, models: Iterable[DecisionModel]) -> None:
        self._versions: dict[str, dict[int, DecisionModel]] = {}
        for m in models:
            self._versions.setdefault(m.ref.key, {})[m.version] = m
        self._compiled: dict[tuple[str, int], CompiledModel] = {}

    @classmethod
    def from_directory(cls, rules_dir: Path) -> RuleBook:
        """Load every model under ``rules_dir`` (raises ValidationFailed naming each problem)."""
        return cls(load_models(rules_dir) if rules_dir.exists() else [])

    def add(self, model: DecisionModel) -> bool:
        """Add a version published since loading (a change request's); ``False`` if the book
        already holds that version."""
        versions = self._versions.setdefault(model.ref.key, {})
        if model.version in versions:
            return False
        versions[model.version] = model
        return True

    def keys(self) -> list[str]:
        """Every model identity (``department/model``)."""
        return sorted(self._versions)

    def versions(self, key: str) -> list[DecisionModel]:
        """Every version of a model, oldest first."""
        return [v for _, v in sorted(self._versions.get(key, {}).items())]

    def say(self, key: str, text: object, locale: str) -> str:
        """A text a model of ``key`` produces (a reason code, a band), in a language: the words
        of the newest version that has them, else the text as the model wrote it."""
        for model in reversed(self.versions(key)):
            if text in (model.metadata.texts or {}):
                return model.say(str(text), locale)
        return str(text)

    def all_models(self) -> list[DecisionModel]:
        """Every version of every model."""
        return [m for key in self.keys() for m in self.versions(key)]

    def resolve(
        self, ref: ModelRef | str, on: date | None = None, *, include_drafts: bool = False
    ) -> DecisionModel:
        """The version to use: the pinned one, else the published version in effect on ``on``."""
        ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
        versions = self._versions.get(ref.key)
        if not versions:
            raise NotFound(f"no decision model {ref.key!r}")
        if ref.version is not None:
            model = versions.get(ref.version)
            if model is None:
                raise NotFound(f"no version {ref.version} of decision model {ref.key!r}")
            return model
        day = on or datetime.now(UTC).date()
        allowed = {ModelStatus.PUBLISHED} | ({ModelStatus.DRAFT} if include_drafts else set())
        candidates = [
            m for m in versions.values() if m.metadata.status in allowed and m.in_effect(day)
        ]
        if not candidates:
            raise NotFound(f"no published version of {ref.key!r} is in effect on {day.isoformat()}")
        return max(candidates, key=lambda m: m.version)

    def compiled(self, model: DecisionModel) -> CompiledModel:
        """The compiled form of a version (compiled on first use, then cached)."""
        key = (model.ref.key, model.version)
        compiled = self._compiled.get(key)
        if compiled is None or compiled.model is not model:
            compiled = self._compiled[key] = CompiledModel(model)
        return compiled

    def evaluate(
        self,
        ref: ModelRef | str,
        data: dict[str, Any],
        *,
        on: date | None = None,
        include_drafts: bool = False,
    ) -> Decision:
        """Evaluate the version in effect and return the decision with its rule trace."""
        model = self.resolve(ref, on, include_drafts=include_drafts)
        return self.compiled(model).evaluate(data)


RULE_BOOK: Key[RuleBook] = Key("rule book")
"""The process's decision models, loaded once by the composition root."""


def evaluate(
    model_ref: ModelRef | str,
    data: dict[str, Any],
    *,
    book: RuleBook,
    on: date,
) -> Decision:
    """Evaluate a department's model: the published version in effect on ``on`` (the day the
    caller's rule says counts: an application's submission, a step's decision; never the wall
    clock's), from the rule book the composition root built (``RULE_BOOK``)."""
    return book.evaluate(model_ref, data, on=on)
