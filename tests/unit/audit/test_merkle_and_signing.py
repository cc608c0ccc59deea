"""Merkle proofs and Ed25519 compact JWS: pure logic, no I/O beyond a temp key directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicloom.audit import (
    ChainHead,
    Keyring,
    PublicKeySet,
    SignatureInvalid,
    generate_key,
    load_public_keys,
    merkle_proof,
    merkle_root,
    verify_merkle_proof,
)
from civicloom.audit.signing import b64url


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_leaf_has_a_proof_to_the_root(n: int) -> None:
    leaves = [ChainHead(f"application:{i}", i + 1, f"{i:064x}").leaf() for i in range(n)]
    root = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        assert verify_merkle_proof(leaf, merkle_proof(leaves, index), root)
    forged = ChainHead("application:0", 1, "f" * 64).leaf()
    assert not verify_merkle_proof(forged, merkle_proof(leaves, 0), root)


def test_root_changes_with_any_leaf() -> None:
    leaves = [ChainHead("a", 1, "0" * 64).leaf(), ChainHead("b", 2, "1" * 64).leaf()]
    assert merkle_root(leaves) != merkle_root(list(reversed(leaves)))
    assert merkle_root(leaves) != merkle_root(leaves[:1])


def test_sign_verify_rotate(tmp_path: Path) -> None:
    first = generate_key(tmp_path)
    old = Keyring.load(tmp_path)
    token = old.sign({"hello": "world"})
    second = generate_key(tmp_path)
    new = Keyring.load(tmp_path)
    assert (old.kid, new.kid) == (first, second)
    keys = load_public_keys(tmp_path)
    assert set(keys.keys) == {first, second}
    # Rotation keeps earlier signatures valid.
    header, payload = keys.verify(token)
    assert header["kid"] == first
    assert payload == {"hello": "world"}
    # A JWKS round trip is all an offline verifier needs.
    offline = PublicKeySet.from_jwks(json.loads(json.dumps(keys.to_jwks())))
    assert offline.verify(new.sign({"n": 1}))[1] == {"n": 1}
    assert (tmp_path / f"{first}.pem").stat().st_mode & 0o777 == 0o600


def test_tampered_tokens_are_refused(tmp_path: Path) -> None:
    generate_key(tmp_path)
    ring = Keyring.load(tmp_path)
    token = ring.sign({"amount": 1})
    head, payload, sig = token.split(".")
    keys = ring.public
    altered = f"{head}.{b64url(json.dumps({'amount': 2}).encode())}.{sig}"
    none_alg = f"{b64url(json.dumps({'alg': 'none', 'kid': ring.kid}).encode())}.{payload}."
    other = tmp_path / "other"
    generate_key(other)
    foreign = Keyring.load(other).sign({"amount": 1})
    for bad, reason in [
        (altered, "does not match"),
        (none_alg, "not accepted"),
        (foreign, "unknown key"),
        ("a.b", "three"),
        (f"{head}.!!.{sig}", "base64url"),
    ]:
        with pytest.raises(SignatureInvalid, match=reason):
            keys.verify(bad)
