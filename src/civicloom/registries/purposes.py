"""Purposes in the reader's language: what is recorded (an audit entry's, a consent's, a
register read's purpose) stays the agreement's English; a page translates it when it shows it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from civicloom.catalogue import DataSharingAgreement

JOINED = "; "  # a consent for several agreements records their purposes joined (portal)


def agreement_purposes(agreements: Iterable[DataSharingAgreement], locale: str) -> dict[str, str]:
    """Each agreement's purpose as recorded (its English) -> its purpose in ``locale``."""
    return {a.purpose.en: a.purpose.get(locale) for a in agreements}


def purpose_in_words(purpose: str | None, labels: Mapping[str, str]) -> str | None:
    """A recorded purpose in the reader's language from ``labels`` (recorded -> words); a
    consent's joined purposes each in words; ``None`` when any part has no words (the page
    then shows it as recorded, marked as English)."""
    if not purpose:
        return ""
    if purpose in labels:
        return labels[purpose]
    parts = purpose.split(JOINED)
    if len(parts) > 1 and all(p in labels for p in parts):
        return JOINED.join(labels[p] for p in parts)
    return None
