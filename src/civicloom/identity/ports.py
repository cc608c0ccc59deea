"""What the identity module needs from others, as structural types (no imports of them)."""

from __future__ import annotations

from typing import Any, Protocol


class FormLike(Protocol):
    """A blueprint's form: its JSON Schema."""

    @property
    def json_schema(self) -> dict[str, Any]: ...


class BlueprintLike(Protocol):
    """The parts of a catalogue blueprint that field visibility reads."""

    @property
    def owner(self) -> str: ...

    @property
    def form(self) -> FormLike: ...
