"""Signed bundles (ADR 0052): sealing, verifying, and every refusal named by its reason."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from civicloom.audit import Keyring, PublicKeySet, b64url, b64url_decode, generate_key
from civicloom.governance.bundle_domain import (
    Bundle,
    BundledChange,
    BundleRefused,
    Refusal,
    expect_next,
    open_bundle,
    payload_hash,
    seal_bundle,
)
from civicloom.governance.bundles import trusted_keys
from civicloom.settings import ConfigurationError

CREATED = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
FEE_CHANGE = BundledChange(
    id="cr-1",
    kind="tariff",
    target="open-restaurant",
    title="Licence fee from 250 to 350",
    files={"models/local-admin/restaurant-fee.json": '{"fee": 350}\n'},
    approvals=(("local-admin", "rita"), ("central", "carla")),
    effective_at="2027-01-01T00:00:00+00:00",
)


@pytest.fixture
def test_keys(tmp_path: Path) -> Keyring:
    generate_key(tmp_path / "test-keys")
    return Keyring.load(tmp_path / "test-keys")


@pytest.fixture
def other_keys(tmp_path: Path) -> Keyring:
    generate_key(tmp_path / "other-keys")
    return Keyring.load(tmp_path / "other-keys")


def sealed(keys: Keyring, *, source: str = "test", sequence: int = 1) -> str:
    return seal_bundle(
        keys,
        bundle_id="0b0d6d7e-1f49-4c1d-9a51-6b7d5c0c2a11",
        source_environment=source,
        sequence=sequence,
        created_at=CREATED,
        changes=[FEE_CHANGE],
    )


def refusal(text: str, trusted: dict[str, PublicKeySet], own: str = "production") -> BundleRefused:
    with pytest.raises(BundleRefused) as caught:
        open_bundle(text, own_environment=own, trusted=trusted)
    return caught.value


def test_a_sealed_bundle_opens_with_its_source_keys(test_keys: Keyring) -> None:
    text = sealed(test_keys, sequence=4)
    bundle = open_bundle(text, own_environment="production", trusted={"test": test_keys.public})
    assert bundle == Bundle(
        bundle_id="0b0d6d7e-1f49-4c1d-9a51-6b7d5c0c2a11",
        source_environment="test",
        sequence=4,
        created_at=CREATED,
        payload_hash=payload_hash([FEE_CHANGE]),
        changes=(FEE_CHANGE,),
        signed=text,
    )
    assert bundle.payload_hash.startswith("sha256:")
    assert len(bundle.payload_hash) == len("sha256:") + 64


def test_every_single_byte_changed_is_refused(test_keys: Keyring) -> None:
    text = sealed(test_keys)
    trusted = {"test": test_keys.public}
    open_bundle(text, own_environment="production", trusted=trusted)
    reasons = set()
    variants = [text + " ", text + "\n", text.replace("\n", "\r\n"), " " + text]
    for position in range(len(text)):
        for flipped in {"A", "B", "g", "."} - {text[position]}:
            variants.append(text[:position] + flipped + text[position + 1 :])
    for changed in variants:
        try:
            open_bundle(changed, own_environment="production", trusted=trusted)
        except BundleRefused as refused:
            reasons.add(refused.reason)
        else:
            pytest.fail(f"a changed bundle was accepted: {changed!r}")
    # a changed payload or signature is tampering; a changed header may also hide the source
    # or the key, and is then refused for that
    assert Refusal.TAMPERED in reasons
    assert reasons <= {
        Refusal.TAMPERED,
        Refusal.MALFORMED,
        Refusal.UNTRUSTED_SOURCE,
        Refusal.UNKNOWN_SIGNER,
        Refusal.OWN_ENVIRONMENT,
    }


def test_the_unused_bits_of_the_signature_are_signed_too(test_keys: Keyring) -> None:
    """The signature's last base64url character carries four unused bits: a decoder that
    ignores them would accept a changed byte; this one refuses it."""
    header, payload, signature = sealed(test_keys).strip().split(".")
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bits = alphabet[alphabet.index(last) ^ 1]  # differs only in an unused bit
    forged = f"{header}.{payload}.{signature[:-1]}{same_bits}"
    assert b64url_decode(forged.split(".")[2]) == b64url_decode(signature)
    refused = refusal(forged, {"test": test_keys.public})
    assert refused.reason is Refusal.TAMPERED


def test_a_changed_fee_in_the_payload_is_tampering(test_keys: Keyring) -> None:
    header, payload, signature = sealed(test_keys).strip().split(".")
    forged = b64url(b64url_decode(payload).replace(b"350", b"150"))
    refused = refusal(f"{header}.{forged}.{signature}", {"test": test_keys.public})
    assert refused.reason is Refusal.TAMPERED
    assert refused.message.endswith("the bundle was changed after it was signed")


def test_a_bundle_signed_by_another_key_is_an_unknown_signer(
    test_keys: Keyring, other_keys: Keyring
) -> None:
    refused = refusal(sealed(other_keys), {"test": test_keys.public})
    assert refused.reason is Refusal.UNKNOWN_SIGNER
    assert f"signed by key '{other_keys.kid}'" in refused.message
    assert "not a key of environment 'test'" in refused.message


def test_a_source_that_is_not_trusted_is_refused(test_keys: Keyring) -> None:
    refused = refusal(sealed(test_keys, source="staging"), {"test": test_keys.public})
    assert refused.reason is Refusal.UNTRUSTED_SOURCE
    assert refused.message == (
        "source environment 'staging' is not trusted here (bundle_trusted_sources: test)"
    )


def test_a_bundle_of_this_environment_is_refused_here(test_keys: Keyring) -> None:
    refused = refusal(sealed(test_keys), {"test": test_keys.public}, own="test")
    assert refused.reason is Refusal.OWN_ENVIRONMENT


def test_text_that_is_no_bundle_is_malformed(test_keys: Keyring) -> None:
    assert refusal("hello", {"test": test_keys.public}).reason is Refusal.MALFORMED
    assert refusal("", {"test": test_keys.public}).reason is Refusal.MALFORMED


def test_a_licence_token_of_the_same_key_is_not_a_bundle(test_keys: Keyring) -> None:
    token = test_keys.sign({"source_environment": "test", "sequence": 1})
    refused = refusal(token, {"test": test_keys.public})
    assert refused.reason is Refusal.MALFORMED
    assert refused.message == "not a civicloom-bundle/1 bundle"


def test_the_next_sequence_is_accepted_and_others_are_named(test_keys: Keyring) -> None:
    def bundle(sequence: int) -> Bundle:
        return open_bundle(
            sealed(test_keys, sequence=sequence),
            own_environment="production",
            trusted={"test": test_keys.public},
        )

    expect_next(bundle(1), 0, None)
    expect_next(bundle(3), 2, CREATED)
    with pytest.raises(BundleRefused) as replay:
        expect_next(bundle(2), 2, CREATED)
    assert replay.value.reason is Refusal.REPLAY
    assert replay.value.message == (
        "bundle 2 from test was imported already on 2026-12-05 09:30 UTC "
        "(the last imported is 2); a bundle is imported once"
    )
    with pytest.raises(BundleRefused) as gap:
        expect_next(bundle(4), 2, CREATED)
    assert gap.value.reason is Refusal.OUT_OF_ORDER
    assert gap.value.message == "bundle 4 from test is out of order: import bundle 3 first"
    assert str(gap.value) == (
        "bundle refused (out-of-order): bundle 4 from test is out of order: import bundle 3 first"
    )


def test_trusted_sources_are_read_from_their_jwks_files(test_keys: Keyring, tmp_path: Path) -> None:
    jwks = tmp_path / "test.jwks.json"
    jwks.write_text(json.dumps(test_keys.public.to_jwks()), encoding="utf-8")
    assert list(trusted_keys({"test": jwks})["test"].keys) == [test_keys.kid]

    with pytest.raises(ConfigurationError) as missing:
        trusted_keys({"test": tmp_path / "absent.json"})
    assert str(missing.value).startswith(
        f"bundle_trusted_sources.test: cannot read the JWKS file {tmp_path / 'absent.json'}: "
    )
    empty = tmp_path / "empty.json"
    empty.write_text('{"keys": []}', encoding="utf-8")
    with pytest.raises(ConfigurationError) as keyless:
        trusted_keys({"test": empty})
    assert str(keyless.value) == f"bundle_trusted_sources.test: {empty} holds no Ed25519 public key"


def test_a_signed_payload_with_a_bad_date_is_malformed(test_keys: Keyring) -> None:
    bad = replace(FEE_CHANGE, effective_at="next tuesday")
    text = seal_bundle(
        test_keys,
        bundle_id="0b0d6d7e-1f49-4c1d-9a51-6b7d5c0c2a11",
        source_environment="test",
        sequence=1,
        created_at=CREATED,
        changes=[bad],
    )
    refused = refusal(text, {"test": test_keys.public})
    assert refused.reason is Refusal.MALFORMED
    assert refused.message == (
        "the payload is incomplete: change cr-1: effective_at must be a timestamp or null"
    )
