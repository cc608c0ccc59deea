"""The blueprint reference language, parsed in one place.

A blueprint refers to what a case knows with ``$.data.<field>`` (the applicant's answers),
``$.steps.<step>.output.<field>`` (what a step returned) and ``$.decisions.<id>.<field>`` (what a
decision model decided; ``fees`` for the fee model). Conditions, which are zen expressions, use
the same paths without the ``$.`` (``data.seating > 50``).

Everything that reads a reference — blueprint validation, the case engine, the portal's
pre-check and fee estimate, register prefill — parses it here into a typed :class:`Ref`, so a
malformed reference is one clear :class:`RefError` naming what is wrong, found when the
blueprint is validated rather than when a case runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PREFIX = "$."
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# A reference inside a zen expression: not part of a longer name, a member access or a string.
_EXPRESSION_REF = re.compile(r"(?<![\w.'\"])(data|steps|decisions)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


class Root(StrEnum):
    """What a reference reads: the answers, a step's result or a decision."""

    DATA = "data"
    STEPS = "steps"
    DECISIONS = "decisions"


class RefError(ValueError):
    """A reference that does not parse; ``str()`` names the reference and what is wrong."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r}: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class Ref:
    """One parsed reference: its root and the names after it."""

    root: Root
    names: tuple[str, ...]

    @property
    def text(self) -> str:
        """The reference as written in a blueprint (``$.data.seating``)."""
        return PREFIX + ".".join(self.path)

    @property
    def path(self) -> tuple[str, ...]:
        """Keys from the top of the case context down to the value."""
        return (self.root.value, *self.names)

    @property
    def field(self) -> str | None:
        """The form field of a ``$.data`` reference (its first name)."""
        return self.names[0] if self.root is Root.DATA else None

    @property
    def target(self) -> str | None:
        """The step (or decision) id of a ``$.steps``/``$.decisions`` reference."""
        return None if self.root is Root.DATA else self.names[0]

    @property
    def output(self) -> str | None:
        """The output field a step or decision reference reads, if it names one."""
        if self.root is Root.STEPS:
            return self.names[2] if len(self.names) > 2 else None
        if self.root is Root.DECISIONS:
            return self.names[1] if len(self.names) > 1 else None
        return None

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """The value at this reference in a case context; None when any key is missing."""
        current: Any = context
        for key in self.path:
            if not isinstance(current, Mapping) or key not in current:
                return None
            current = current[key]
        return current

    def __str__(self) -> str:
        return self.text


def is_ref(value: Any) -> bool:
    """Whether a blueprint value is meant as a reference (a string starting with ``$.``)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def parse_ref(text: str) -> Ref:
    """Parse ``$.data.x``, ``$.steps.<id>.output.y`` or ``$.decisions.<id>.z``; RefError if not."""
    if not text.startswith(PREFIX):
        raise RefError(text, "a reference starts with '$.'")
    parts = text[len(PREFIX) :].split(".")
    for part in parts:
        if not part:
            raise RefError(text, "empty name between dots")
        if not _NAME.match(part):
            raise RefError(text, f"{part!r} is not a name (letters, digits, '_' and '-')")
    try:
        root = Root(parts[0])
    except ValueError:
        raise RefError(text, "refer to $.data, $.steps or $.decisions") from None
    names = tuple(parts[1:])
    if not names:
        raise RefError(text, f"$.{root.value} names nothing")
    if root is Root.STEPS and len(names) > 1 and names[1] != "output":
        raise RefError(text, f"use $.steps.{names[0]}.output.<field>")
    return Ref(root, names)


def data_ref(value: Any) -> Ref | None:
    """The parsed reference if the value is a well-formed ``$.data`` reference, else None."""
    if not is_ref(value):
        return None
    try:
        ref = parse_ref(value)
    except RefError:
        return None
    return ref if ref.root is Root.DATA else None


def resolve(value: Any, context: Mapping[str, Any]) -> Any:
    """Replace every reference inside a value (recursively) by what the context holds there.

    Strings that are not references are constants; a malformed reference raises RefError
    (blueprint validation refuses them, so a published blueprint never has one).
    """
    if is_ref(value):
        return parse_ref(value).resolve(context)
    if isinstance(value, Mapping):
        return {k: resolve(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    return value


def refs_in(value: Any, path: str) -> Iterator[tuple[str, Ref | RefError]]:
    """(path, reference or its error) for every reference inside a value, in document order."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield from refs_in(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from refs_in(sub, f"{path}[{i}]")
    elif is_ref(value):
        try:
            yield path, parse_ref(value)
        except RefError as exc:
            yield path, exc


def expression_refs(expression: str) -> list[Ref | RefError]:
    """The references a zen expression reads (``data.x``, ``steps.y.output.z``, …)."""
    found: list[Ref | RefError] = []
    for match in _EXPRESSION_REF.finditer(expression):
        try:
            found.append(parse_ref(PREFIX + match.group(1) + match.group(2)))
        except RefError as exc:
            found.append(exc)
    return found
