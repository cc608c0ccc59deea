"""The journey as department swimlanes: Mermaid text and a self-contained SVG."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from civicloom.catalogue.graph import StepGraph
from civicloom.catalogue.spec import Blueprint, Step

_KIND_LABEL = {
    "automated": "automated check",
    "officer_review": "officer review",
    "applicant_action": "applicant action",
    "payment": "payment",
    "issue_document": "issue document",
    "notify": "notify",
    "timer": "timer",
}
_FILL = {
    "automated": "#e8f1fb",
    "officer_review": "#fff4d6",
    "applicant_action": "#f3e8fb",
    "payment": "#e6f6ea",
    "issue_document": "#e6f6ea",
    "notify": "#f0f0f0",
    "timer": "#f0f0f0",
}


def _title(step: Step, locale: str) -> str:
    return step.title.get(locale) if step.title else step.id.replace("_", " ")


def _lanes(spec: Blueprint, graph: StepGraph) -> list[str]:
    """Departments in journey order, the owner first."""
    lanes = [spec.owner]
    for sid in graph.topological_order():
        dept = graph.steps[sid].department or spec.owner
        if dept not in lanes:
            lanes.append(dept)
    return lanes


def _mid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _quote(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(spec: Blueprint, names: dict[str, str] | None = None, locale: str = "en") -> str:
    """A Mermaid flowchart with one subgraph (swimlane) per department."""
    graph = StepGraph({s.id: s for s in spec.steps})
    names = names or {}
    lines = ["flowchart LR", f'  submitted(["{_quote(spec.title.get(locale))}: submitted"])']
    for dept in _lanes(spec, graph):
        lines.append(f'  subgraph lane_{_mid(dept)}["{_quote(names.get(dept, dept))}"]')
        for sid in graph.topological_order():
            step = graph.steps[sid]
            if (step.department or spec.owner) == dept:
                kind = _KIND_LABEL.get(step.kind, str(step.kind))
                label = f"{_title(step, locale)}<br/><small>{kind}</small>"
                lines.append(f'    {_mid(sid)}["{_quote(label)}"]')
        lines.append("  end")
    for sid in graph.topological_order():
        step = graph.steps[sid]
        sources = step.after or ["submitted"]
        for src in sources:
            if step.when:
                lines.append(f'  {_mid(src)} -. "if {_quote(step.when)}" .-> {_mid(sid)}')
            else:
                lines.append(f"  {_mid(src)} --> {_mid(sid)}")
    return "\n".join(lines) + "\n"


_BOX_W, _BOX_H, _COL_W, _ROW_H, _HEAD_W, _PAD = 204, 56, 250, 76, 150, 20


def svg(spec: Blueprint, names: dict[str, str] | None = None, locale: str = "en") -> str:
    """Swimlanes per department, steps in columns by dependency depth, arrows for ``after``."""
    graph = StepGraph({s.id: s for s in spec.steps})
    names = names or {}
    lanes = _lanes(spec, graph)
    levels = graph.levels()
    # rows per (lane, column): stack steps of one department that run in the same column
    slot: dict[str, tuple[int, int]] = {}
    depth: dict[tuple[str, int], int] = {}
    for sid in graph.topological_order():
        lane = graph.steps[sid].department or spec.owner
        key = (lane, levels[sid])
        slot[sid] = (levels[sid], depth.get(key, 0))
        depth[key] = depth.get(key, 0) + 1
    lane_rows = {
        lane: max([d for (ln, _), d in depth.items() if ln == lane] or [1]) for lane in lanes
    }
    lane_top: dict[str, int] = {}
    y = 40
    for lane in lanes:
        lane_top[lane] = y
        y += lane_rows[lane] * _ROW_H + _PAD
    columns = max(levels.values(), default=0) + 1
    width = _HEAD_W + columns * _COL_W + _PAD
    height = y + _PAD
    title = escape(f"{spec.title.get(locale)} — steps by department")

    def box(sid: str) -> tuple[int, int]:
        col, row = slot[sid]
        lane = graph.steps[sid].department or spec.owner
        return _HEAD_W + col * _COL_W + _PAD, lane_top[lane] + row * _ROW_H + (_ROW_H - _BOX_H) // 2

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="bp-title" '
        'font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="bp-title">{title}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#505a5f"/></marker></defs>',
        f'<text x="{_PAD}" y="26" font-size="16" font-weight="bold">{title}</text>',
    ]
    for i, lane in enumerate(lanes):
        top, h = lane_top[lane], lane_rows[lane] * _ROW_H
        fill = "#f8f8f8" if i % 2 else "#ffffff"
        out.append(
            f'<rect x="0" y="{top}" width="{width}" height="{h}" fill="{fill}" stroke="#b1b4b6"/>'
        )
        words = names.get(lane, lane).split()
        half = (len(words) + 1) // 2 if len(" ".join(words)) > 16 else len(words)
        label_lines = [" ".join(words[:half]), " ".join(words[half:])]
        spans = "".join(
            f'<tspan x="{_PAD}" dy="{0 if n == 0 else 16}">{escape(t)}</tspan>'
            for n, t in enumerate(t for t in label_lines if t)
        )
        out.append(
            f'<text y="{top + h // 2 - (3 if label_lines[1] else -5)}" '
            f'font-weight="bold">{spans}</text>'
        )
    for sid in graph.topological_order():
        step = graph.steps[sid]
        x2, y2 = box(sid)
        for dep in step.after:
            if dep not in slot:
                continue
            x1, y1 = box(dep)
            dash = ' stroke-dasharray="6 4"' if step.when else ""
            out.append(
                f'<path d="M {x1 + _BOX_W} {y1 + _BOX_H // 2} C {x1 + _BOX_W + 25} '
                f'{y1 + _BOX_H // 2}, {x2 - 25} {y2 + _BOX_H // 2}, {x2} {y2 + _BOX_H // 2}" '
                f'fill="none" stroke="#505a5f" marker-end="url(#arrow)"{dash}/>'
            )
    for sid in graph.topological_order():
        step = graph.steps[sid]
        x, y0 = box(sid)
        label = _title(step, locale)[:26]
        kind = _KIND_LABEL.get(step.kind, str(step.kind)) + (" (if …)" if step.when else "")
        tip = f"<title>{escape(step.when)}</title>" if step.when else ""
        out.append(
            f'<g id="step-{escape(sid)}">{tip}<rect x="{x}" y="{y0}" width="{_BOX_W}" '
            f'height="{_BOX_H}" rx="6" fill="{_FILL.get(step.kind, "#ffffff")}" stroke="#0b0c0c"/>'
            f'<text x="{x + 10}" y="{y0 + 22}" font-weight="bold">{escape(label)}</text>'
            f'<text x="{x + 10}" y="{y0 + 42}" fill="#505a5f">{escape(kind)}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
