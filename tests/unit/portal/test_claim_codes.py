"""Claim codes and the masked document number of the assisted channel (ADR 0044)."""

from __future__ import annotations

import pytest

from civicloom.portal.counter import (
    CLAIM_ALPHABET,
    IdentityCheck,
    claim_hash,
    identity_problems,
    masked,
    new_claim_code,
)


def test_a_code_is_four_groups_of_four_from_the_alphabet_and_fresh_each_time() -> None:
    codes = {new_claim_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(CLAIM_ALPHABET)
    assert not set("01ILOU") & set(CLAIM_ALPHABET)


def test_a_code_is_found_however_it_is_typed() -> None:
    assert claim_hash("ABCD-EFGH-JKMN-PQRS") == claim_hash(" abcd efgh jkmnpqrs ")
    assert claim_hash("ABCD-EFGH-JKMN-PQRS") != claim_hash("ABCD-EFGH-JKMN-PQRT")
    assert len(claim_hash("ABCD-EFGH-JKMN-PQRS") or "") == 64


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ABCD-EFGH-JKMN-PQR",
        "ABCD-EFGH-JKMN-PQRSS",
        "ABCD-EFGH-JKMN-PQR0",
        "ÄBCD-EFGH-JKMN-PQRS",
    ],
)
def test_what_cannot_be_a_code_is_not_looked_up(typed: str) -> None:
    assert claim_hash(typed) is None


def test_only_the_last_three_characters_of_a_document_number_are_kept() -> None:
    assert masked("E 1234 5678") == "•••678"
    assert masked("ab-12-x9z") == "•••X9Z"


def test_the_identity_check_names_each_missing_part() -> None:
    empty = IdentityCheck("", "", "", "", declaration_signed=False)
    assert [(e.field, e.rule) for e in identity_problems(empty, business=True)] == [
        ("identity.name", "required"),
        ("identity.document_type", "required"),
        ("identity.document_number", "required"),
        ("identity.personal_number", "required"),
        ("identity.declaration", "declaration"),
    ]
    person = IdentityCheck("Wei Zhang", "passport", "E1234567", "", declaration_signed=True)
    assert identity_problems(person, business=False) == []
    assert [e.rule for e in identity_problems(person, business=True)] == ["required"]
    odd = IdentityCheck("Wei\u202eZhang", "selfie", "12", "w ei", declaration_signed=True)
    assert [(e.field, e.rule) for e in identity_problems(odd, business=True)] == [
        ("identity.name", "name"),
        ("identity.document_type", "required"),
        ("identity.document_number", "document-number"),
        ("identity.personal_number", "personal-number"),
    ]
