"""Registries: once-only reuse of data the departments' registers hold, under data-sharing
agreements and the subject's consent, with every reuse recorded (ADR 0022)."""

from civicloom.registries.domain import (
    Consent,
    RegisterRead,
    Representation,
    representation_from_register,
)
from civicloom.registries.mandates import (
    GrantMandate,
    Mandate,
    accept_mandate,
    acting_for_answers,
    grant_mandate,
    mandates_of_person,
    revoke_mandate,
    still_acting_for,
    verify_acting_for,
)
from civicloom.registries.prefill import PrefillResult, plan_reads, read_registers
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
    "GrantMandate",
    "Mandate",
    "PrefillResult",
    "RegisterRead",
    "Representation",
    "accept_mandate",
    "acting_for_answers",
    "active_consent",
    "approved_agreements",
    "data_use_of_subject",
    "grant_consent",
    "grant_mandate",
    "link_data_use",
    "list_consents",
    "mandates_of_person",
    "plan_reads",
    "read_registers",
    "record_consent",
    "representation_from_register",
    "revoke_consent",
    "revoke_mandate",
    "still_acting_for",
    "sync_agreements",
    "verify_acting_for",
]
