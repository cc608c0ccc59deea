"""The payment access rules as a hand-written table (ADR 0033): payer, department, role."""

from __future__ import annotations

import pytest

from civicloom.identity import ScopedPrincipal
from civicloom.payments.access import may_read_payment, may_refund_payment


def who(subject: str, *roles: str, department: str | None = None) -> ScopedPrincipal:
    return ScopedPrincipal(
        subject=subject,
        display_name=subject,
        roles=frozenset(roles),
        department=department,
        authenticated_by="test",
    )


# (principal, may read, may refund) for a payment by "alice" of a local-admin fee.
TABLE = [
    (who("alice", "citizen"), True, False),
    (who("bob", "citizen"), False, False),
    (who("alice", "officer", department="labour"), False, False),  # not as the payer
    (who("olivia", "officer", department="local-admin"), True, False),
    (who("grace", "officer", "supervisor", department="local-admin"), True, False),
    (who("fiona", "finance-officer", department="local-admin"), True, True),
    (who("farah", "finance-officer", department="labour"), False, False),
    (who("lars", "officer", department="labour"), False, False),
    (who("sam", "service-owner", department="local-admin"), False, False),
    (who("priya", "operator"), False, False),
    (who("ada", "auditor"), True, False),
    (who("m1", "machine-client", department="local-admin"), True, True),
    (who("m2", "machine-client", department="labour"), False, False),
    (who("fin", "finance-officer"), False, False),  # no department: nothing
]


@pytest.mark.parametrize(("principal", "read", "refund"), TABLE)
def test_payment_access_table(principal: ScopedPrincipal, read: bool, refund: bool) -> None:
    may_read = may_read_payment(principal, "alice", "local-admin")
    may_refund = may_read and may_refund_payment(principal, "local-admin")
    assert (may_read, may_refund) == (read, refund)


def test_a_payment_without_a_department_is_only_for_its_payer_and_auditors() -> None:
    assert may_read_payment(who("alice", "citizen"), "alice", None)
    assert may_read_payment(who("ada", "auditor"), "alice", None)
    assert not may_read_payment(
        who("fiona", "finance-officer", department="local-admin"), "alice", None
    )
    assert not may_refund_payment(who("fiona", "finance-officer", department="local-admin"), None)
