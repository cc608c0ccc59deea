"""Who may see which part of a service's KPIs (``kpis.domain.kpi_scope``), as a literal table."""

from __future__ import annotations

import pytest

from civicloom.kernel import Principal
from civicloom.kpis.domain import KpiScope, kpi_scope

OWNER = "local-admin"
STEPS = ("local-admin", "tax", "environment", "labour")

CASES = [
    # roles, department -> scope (None: the service is not shown)
    (("operator",), None, KpiScope(None)),
    (("auditor",), None, KpiScope(None)),
    (("service-owner",), "local-admin", KpiScope(None)),  # owns the service
    (("service-owner",), "tax", KpiScope("tax")),  # another department's owner
    (("service-owner",), "building", None),  # takes no part in the service
    (("officer", "supervisor"), "local-admin", KpiScope("local-admin")),
    (("supervisor",), "environment", KpiScope("environment")),
    (("supervisor",), "building", None),
    (("officer", "licensing-officer"), "local-admin", None),
    (("officer", "inspector"), "environment", None),
    (("supervisor",), None, None),  # staff without a department
    (("citizen",), None, None),
    (("machine-client",), "tax", None),
]


@pytest.mark.parametrize(("roles", "department", "expected"), CASES)
def test_kpi_scope(roles: tuple[str, ...], department: str | None, expected: object) -> None:
    who = Principal("someone", "Someone", frozenset(roles), department, "test")
    assert kpi_scope(who, OWNER, STEPS) == expected
