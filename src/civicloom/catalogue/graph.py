"""The step graph of a blueprint: dependencies, joins, order and what can run next."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property

from civicloom.catalogue.spec import Blueprint, Step


@dataclass(frozen=True)
class StepGraph:
    """Steps by id with their predecessors (``after``); a pure value the engine can query."""

    steps: Mapping[str, Step]

    @cached_property
    def dependencies(self) -> dict[str, frozenset[str]]:
        """Step id → the steps it waits for."""
        return {sid: frozenset(s.after) for sid, s in self.steps.items()}

    @cached_property
    def dependents(self) -> dict[str, frozenset[str]]:
        """Step id → the steps that wait for it."""
        out: dict[str, set[str]] = {sid: set() for sid in self.steps}
        for sid, deps in self.dependencies.items():
            for dep in deps:
                out.setdefault(dep, set()).add(sid)
        return {k: frozenset(v) for k, v in out.items()}

    def roots(self) -> list[str]:
        """Steps that start on submission."""
        return [sid for sid, deps in self.dependencies.items() if not deps]

    def leaves(self) -> list[str]:
        """Steps nothing waits for."""
        return [sid for sid in self.steps if not self.dependents.get(sid)]

    def ready_steps(self, finished: Collection[str], started: Collection[str] = ()) -> list[str]:
        """Steps not yet started whose predecessors have all finished (completed or skipped).

        A join waits for every branch; a branch whose ``when`` was false counts as finished
        (skipped), so joins never wait for a branch that will not run.
        """
        done = set(finished)
        busy = done | set(started)
        return [
            sid
            for sid in self.topological_order()
            if sid not in busy and self.dependencies[sid] <= done
        ]

    def ancestors(self, step_id: str) -> frozenset[str]:
        """Every step that finishes before ``step_id`` can start."""
        seen: set[str] = set()
        stack = list(self.dependencies.get(step_id, ()))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self.dependencies.get(current, ()))
        return frozenset(seen)

    def cycles(self) -> list[list[str]]:
        """Each dependency cycle found, as the list of step ids around it."""
        colour: dict[str, int] = dict.fromkeys(self.steps, 0)  # 0 new, 1 on stack, 2 done
        found: list[list[str]] = []
        path: list[str] = []

        def visit(sid: str) -> None:
            colour[sid] = 1
            path.append(sid)
            for dep in sorted(self.dependencies[sid]):
                if dep not in colour:
                    continue
                if colour[dep] == 1:
                    found.append([*path[path.index(dep) :], dep])
                elif colour[dep] == 0:
                    visit(dep)
            path.pop()
            colour[sid] = 2

        for sid in self.steps:
            if colour[sid] == 0:
                visit(sid)
        return found

    def topological_order(self) -> list[str]:
        """Steps so that each comes after its predecessors (declaration order breaks ties);
        steps on a cycle or after an unknown step are left out."""
        order: list[str] = []
        placed: set[str] = set()
        progress = True
        while progress:
            progress = False
            for sid, deps in self.dependencies.items():
                if sid not in placed and deps <= placed:
                    order.append(sid)
                    placed.add(sid)
                    progress = True
        return order

    def levels(self) -> dict[str, int]:
        """Column of each step in a left-to-right drawing: 1 + the deepest predecessor."""
        level: dict[str, int] = {}
        for sid in self.topological_order():
            level[sid] = 1 + max((level[d] for d in self.dependencies[sid]), default=-1)
        return level


def step_graph(blueprint: Blueprint) -> StepGraph:
    """The typed step graph of a blueprint (empty when it declares no steps)."""
    return StepGraph({s.id: s for s in blueprint.steps})
