"""Follow a how-to as written: its marked snippets are files to write and commands to run.

The markers (ADR 0031, described at the top of each tested how-to) are attributes of a fenced
block's info string:

- ``title="<path>"`` — the block is the whole file at ``<path>`` (relative to the project root);
- ``title="<path>" append="<key>"`` — the block is YAML whose ``<key>`` list is added to the
  ``<key>`` list of the existing YAML file at ``<path>``;
- ``title="shell"`` — every line is a command run from the project root; a line is
  ``civicloom …`` (run as ``python -m civicloom …``), empty, or a ``#`` comment.

Blocks are applied in the order they appear, so a command sees the files written above it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Snippet:
    """One marked fenced block of a how-to."""

    title: str
    append: str | None
    text: str


def snippets(markdown: Path) -> list[Snippet]:
    """The marked blocks of a how-to, in document order (unmarked blocks are prose)."""
    found = []
    for match in _FENCE.finditer(markdown.read_text(encoding="utf-8")):
        attributes = dict(_ATTRIBUTE.findall(match.group("info")))
        if "title" in attributes:
            found.append(Snippet(attributes["title"], attributes.get("append"), match["body"]))
    return found


def apply(snippet: Snippet, root: Path, env: Mapping[str, str]) -> list[str]:
    """Write the snippet's file under ``root`` or run its commands; returns the commands' output."""
    if snippet.title == "shell":
        return [_run(command, root, env) for command in _commands(snippet.text)]
    target = root / snippet.title
    assert root.resolve() in target.resolve().parents, f"{snippet.title} leaves the project"
    target.parent.mkdir(parents=True, exist_ok=True)
    if snippet.append is None:
        target.write_text(snippet.text, encoding="utf-8")
        return []
    key = snippet.append
    existing: dict[str, Any] = yaml.safe_load(target.read_text(encoding="utf-8"))
    added: dict[str, Any] = yaml.safe_load(snippet.text)
    existing[key] = [*existing[key], *added[key]]
    target.write_text(yaml.safe_dump(existing, allow_unicode=True, sort_keys=False), "utf-8")
    return []


def _commands(text: str) -> list[list[str]]:
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == "civicloom", f"a tested shell block runs civicloom only: {line!r}"
        commands.append(words[1:])
    return commands


def _run(arguments: list[str], root: Path, env: Mapping[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "civicloom", *arguments],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"civicloom {shlex.join(arguments)} failed:\n{output}"
    return output
