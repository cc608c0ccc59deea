"""Append-only, hash-chained audit entries written in the same transaction as the change."""

from civicloom.audit.domain import AuditRecord, chain_hash
from civicloom.audit.services import ChainReport, append_audit, verify_chain
from civicloom.audit.tables import AuditEntryRow

__all__ = [
    "AuditEntryRow",
    "AuditRecord",
    "ChainReport",
    "append_audit",
    "chain_hash",
    "verify_chain",
]
