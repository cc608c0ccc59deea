"""Append-only audit: one hash chain per subject, written in the same transaction as the change,
sealed periodically into a signed Merkle root; verification names the entry tampered with.
Reads of personal data are recorded by one small insert and folded into the chains by the
worker (ADR 0073)."""

from civicloom.audit.actions import PERSONAL_DATA_READS, AuditAction
from civicloom.audit.domain import (
    GENESIS_HASH,
    AuditRecord,
    ChainHead,
    chain_hash,
    chain_key,
    merkle_proof,
    merkle_root,
    verify_merkle_proof,
)
from civicloom.audit.reads import FOLD_SECONDS, fold_pending_reads, fold_reads, pending_reads
from civicloom.audit.roles import APPEND_ONLY_TABLES, app_role_statements, restrict_app_role
from civicloom.audit.seals import export_audit, seal_audit, seal_now
from civicloom.audit.search import (
    AuditFilter,
    export_entries,
    machine_client_actions,
    search_entries,
    subject_history,
    task_hand_overs,
)
from civicloom.audit.services import (
    DataUse,
    append_audit,
    cli_actor,
    data_use_for_subject,
    lock_chains,
    queue_audit,
    record_of,
    record_read,
)
from civicloom.audit.signing import (
    Keyring,
    KeysMissing,
    PublicKeySet,
    SignatureInvalid,
    b64url,
    b64url_decode,
    generate_key,
    load_or_create_keyring,
    load_public_keys,
)
from civicloom.audit.verification import (
    AuditProblem,
    AuditReport,
    ChainReport,
    verify_audit,
    verify_chain,
)

__all__ = [
    "APPEND_ONLY_TABLES",
    "FOLD_SECONDS",
    "GENESIS_HASH",
    "PERSONAL_DATA_READS",
    "AuditAction",
    "AuditFilter",
    "AuditProblem",
    "AuditRecord",
    "AuditReport",
    "ChainHead",
    "ChainReport",
    "DataUse",
    "Keyring",
    "KeysMissing",
    "PublicKeySet",
    "SignatureInvalid",
    "app_role_statements",
    "append_audit",
    "b64url",
    "b64url_decode",
    "chain_hash",
    "chain_key",
    "cli_actor",
    "data_use_for_subject",
    "export_audit",
    "export_entries",
    "fold_pending_reads",
    "fold_reads",
    "generate_key",
    "load_or_create_keyring",
    "load_public_keys",
    "lock_chains",
    "machine_client_actions",
    "merkle_proof",
    "merkle_root",
    "pending_reads",
    "queue_audit",
    "record_of",
    "record_read",
    "restrict_app_role",
    "seal_audit",
    "seal_now",
    "search_entries",
    "subject_history",
    "task_hand_overs",
    "verify_audit",
    "verify_chain",
    "verify_merkle_proof",
]
