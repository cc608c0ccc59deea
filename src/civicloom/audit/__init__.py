"""Append-only audit: one hash chain per subject, written in the same transaction as the change,
sealed periodically into a signed Merkle root; verification names the entry tampered with."""

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
    record_of,
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
    "generate_key",
    "load_or_create_keyring",
    "load_public_keys",
    "machine_client_actions",
    "merkle_proof",
    "merkle_root",
    "record_of",
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
