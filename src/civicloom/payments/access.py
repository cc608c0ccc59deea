"""Who may see and refund a payment: its payer, and the fee-owning department (ADR 0033).

Pure: decides on the principal and the payment's payer and department only.

- The payer (an applicant) sees their own payments and receipts.
- Officers, supervisors and finance officers see the payments of their own department's fees;
  a payment of another department's fee does not exist for them (404).
- Finance officers refund the fees of their own department; nobody else does.
- Auditors read every payment (they read every case) but never refund.
- Operators run reconciliations but do not see payments.
- A machine client sees or refunds (with the route's scope) its own department's fees only.
"""

from __future__ import annotations

from civicloom.identity import APPLICANT_ROLES, Role
from civicloom.kernel import Principal

FINANCE = Role.FINANCE_OFFICER.value
DEPARTMENT_READERS = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value, FINANCE})
READER_ROLES = (*sorted(APPLICANT_ROLES), *sorted(DEPARTMENT_READERS), Role.AUDITOR.value)
REFUNDER_ROLES = (FINANCE,)


def _of_department(principal: Principal, department: str | None) -> bool:
    return department is not None and principal.department == department


def may_read_payment(principal: Principal, payer_id: str, department: str | None) -> bool:
    """Whether the principal may read a payment (and its receipt)."""
    roles = principal.roles
    if principal.subject == payer_id and not roles.isdisjoint(APPLICANT_ROLES):
        return True
    if Role.AUDITOR.value in roles:
        return True
    if Role.MACHINE_CLIENT.value in roles:
        return _of_department(principal, department)
    return not roles.isdisjoint(DEPARTMENT_READERS) and _of_department(principal, department)


def may_refund_payment(principal: Principal, department: str | None) -> bool:
    """Whether the principal may refund a payment of ``department``'s fee."""
    roles = principal.roles
    if FINANCE in roles or Role.MACHINE_CLIENT.value in roles:
        return _of_department(principal, department)
    return False
