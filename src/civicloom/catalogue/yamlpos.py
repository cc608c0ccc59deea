"""Line numbers for paths inside a YAML document, so every problem names its line."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


class YamlLines:
    """Maps a path like ``("steps", 2, "capability")`` to its 1-based line in the source."""

    def __init__(self, text: str) -> None:
        try:
            self._root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self._root = None

    def line(self, path: Sequence[str | int]) -> int:
        """The line of the deepest node of ``path`` that exists (1 when nothing matches)."""
        node = self._root
        best = 1 if node is None else node.start_mark.line + 1
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        child = value
                        best = key.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                child = node.value[part]
                best = child.start_mark.line + 1
            if child is None:
                return best
            node = child
        return best


def parse_path(path: str) -> list[str | int]:
    """``steps[2].input.parcel_id`` → ``["steps", 2, "input", "parcel_id"]``."""
    parts: list[str | int] = []
    for chunk in path.replace("]", "").split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indexes if i.isdigit())
    return parts
