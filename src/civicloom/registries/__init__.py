"""Registries: once-only reuse of data the departments' registers hold, under data-sharing
agreements and the subject's consent, with every reuse recorded (ADR 0022)."""

from civicloom.registries.domain import (
    Consent,
    RegisterRead,
    Representation,
    representation_from_register,
)
from civicloom.registries.prefill import (
    PermittedRead,
    PrefillResult,
    ReadPermits,
    RegisterAnswers,
    call_registers,
    permit_reads,
    plan_reads,
    record_reads,
)
from civicloom.registries.services import (
    CONSENT_VALIDITY,
    DataUse,
    GrantConsent,
    active_consent,
    approved_agreements,
    data_use_of_subject,
    grant_consent,
    link_data_use,
    list_consents,
    record_consent,
    revoke_consent,
    sync_agreements,
)

__all__ = [
    "CONSENT_VALIDITY",
    "Consent",
    "DataUse",
    "GrantConsent",
    "PermittedRead",
    "PrefillResult",
    "ReadPermits",
    "RegisterAnswers",
    "RegisterRead",
    "Representation",
    "active_consent",
    "approved_agreements",
    "call_registers",
    "data_use_of_subject",
    "grant_consent",
    "link_data_use",
    "list_consents",
    "permit_reads",
    "plan_reads",
    "record_consent",
    "record_reads",
    "representation_from_register",
    "revoke_consent",
    "sync_agreements",
]
