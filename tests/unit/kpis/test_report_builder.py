"""A report added a chunk at a time equals the report of all its records at once (ADR 0074)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from civicloom.kpis import AppRecord, Records, TaskRecord, build_report
from civicloom.kpis.compute import ReportBuilder
from tests.unit.kpis.test_figures import _facts

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
H = timedelta(hours=1)


def test_chunks_add_up_to_the_whole() -> None:
    states = ("approved", "rejected", "in_progress")
    fields = (frozenset({"reg"}), frozenset({"reg", "staff", "name"}))
    apps = [AppRecord(f"a{i}", states[i % 3], T0, T0 + i * H, fields[i % 2]) for i in range(12)]
    tasks = [
        TaskRecord(f"a{i}", step, kind, dept, "completed", T0, T0 + (i + k) * H, T0 + 5 * H)
        for i in range(12)
        for k, (step, kind, dept) in enumerate(
            (
                ("inspect", "officer_review", "environment"),
                ("check", "automated", "tax"),
                ("licence", "issue_document", "local-admin"),
            )
        )
    ]
    prefilled = {f"a{i}": {"name": "local-admin", "reg": "tax"} for i in range(0, 12, 4)}
    answers = Counter({f"a{i}": 1 for i in range(0, 12, 5)})
    documents = Counter({f"a{i}": i for i in range(12)})
    now = T0 + 24 * H
    whole = build_report(
        _facts(),
        Records(apps, tasks, prefilled, documents, answers, Counter({"tax": 12})),
        T0,
        now,
        now,
    )
    builder = ReportBuilder(_facts(), now)
    for first in range(0, 12, 5):  # chunks of 5, 5 and 2 applications, each with its tasks
        ids = {a.id for a in apps[first : first + 5]}
        builder.add(
            Records(
                [a for a in apps if a.id in ids],
                [t for t in tasks if t.application_id in ids],
                {k: v for k, v in prefilled.items() if k in ids},
                Counter({k: v for k, v in documents.items() if k in ids}),
                Counter({k: v for k, v in answers.items() if k in ids}),
                Counter({"tax": len(ids)}),
            )
        )
    assert builder.report(T0, now) == whole
    assert whole.decided == 8
    assert whole.automated_decisions == {"tax": 12}
