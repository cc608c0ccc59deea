"""The platform's Ed25519 signing keys: compact JWS, JWKS and rotation.

Keys live in a directory: ``<kid>.pem`` (private, mode 0600), ``<kid>.jwk.json`` (public) and
``ACTIVE`` (the kid that signs now). Rotation adds a key and moves ``ACTIVE``; earlier public
keys stay published, so everything signed before keeps verifying. A retired private key may be
deleted; its ``.jwk.json`` must stay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from civicloom.kernel import canonical_json

ALGORITHM = "EdDSA"
_ACTIVE = "ACTIVE"


class SignatureInvalid(Exception):
    """A token is malformed, signed by an unknown key, or its signature does not match."""


class KeysMissing(Exception):
    """No signing key is configured in the keys directory."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raise SignatureInvalid if malformed."""
    if not text or any(c not in _B64URL for c in text):
        raise SignatureInvalid("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("not base64url") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK of a key, with its RFC 7638 thumbprint as ``kid``."""
    x = b64url(_raw_public(key))
    members = canonical_json({"crv": "Ed25519", "kty": "OKP", "x": x}).encode()
    thumbprint = b64url(hashlib.sha256(members).digest())
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": thumbprint,
        "use": "sig",
        "alg": ALGORITHM,
    }


@dataclass(frozen=True)
class PublicKeySet:
    """Public keys by kid: what anyone needs to verify, online or offline."""

    keys: dict[str, Ed25519PublicKey]

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> PublicKeySet:
        """Read a JWKS document, keeping only Ed25519 signing keys."""
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in jwks.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                continue
            try:
                raw = b64url_decode(str(jwk["x"]))
                keys[str(jwk["kid"])] = Ed25519PublicKey.from_public_bytes(raw)
            except (KeyError, ValueError, SignatureInvalid):
                continue
        return cls(keys)

    def to_jwks(self) -> dict[str, Any]:
        """The JWKS document (``/.well-known/jwks.json``)."""
        return {"keys": [public_jwk(k) | {"kid": kid} for kid, k in sorted(self.keys.items())]}

    def verify(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check a compact JWS; return (header, payload) or raise SignatureInvalid."""
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise SignatureInvalid("not a compact JWS (three dot-separated parts)")
        try:
            header = json.loads(b64url_decode(parts[0]))
            payload = json.loads(b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SignatureInvalid("header or payload is not JSON") from exc
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise SignatureInvalid("header and payload must be JSON objects")
        if header.get("alg") != ALGORITHM:
            raise SignatureInvalid(f"algorithm {header.get('alg')!r} is not accepted")
        if "crit" in header:
            raise SignatureInvalid("critical header parameters are not supported")
        key = self.keys.get(str(header.get("kid")))
        if key is None:
            raise SignatureInvalid(f"unknown key id {header.get('kid')!r}")
        try:
            key.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
        except InvalidSignature as exc:
            raise SignatureInvalid("the signature does not match") from exc
        return header, payload


class Keyring:
    """The active private key plus every published public key."""

    def __init__(self, kid: str, private_key: Ed25519PrivateKey, public: PublicKeySet) -> None:
        self.kid = kid
        self._private = private_key
        self.public = public

    def sign(self, payload: dict[str, Any], typ: str = "JWT") -> str:
        """A compact JWS over the payload, with the active ``kid``."""
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": typ}
        signing_input = (
            f"{b64url(canonical_json(header).encode())}.{b64url(canonical_json(payload).encode())}"
        )
        signature = self._private.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url(signature)}"

    @classmethod
    def load(cls, keys_dir: Path) -> Keyring:
        """Load the keys; raise KeysMissing when there is no active key."""
        active = keys_dir / _ACTIVE
        if not active.is_file():
            raise KeysMissing(f"no signing key in {keys_dir}: run `civicloom keys generate`")
        kid = active.read_text(encoding="ascii").strip()
        pem = (keys_dir / f"{kid}.pem").read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise KeysMissing(f"{kid}.pem is not an Ed25519 key")
        return cls(kid, private, load_public_keys(keys_dir))


def load_public_keys(keys_dir: Path) -> PublicKeySet:
    """Every public key in the directory (current and retired)."""
    keys = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(keys_dir.glob("*.jwk.json"))]
    return PublicKeySet.from_jwks({"keys": keys})


def generate_key(keys_dir: Path) -> str:
    """Create a new key and make it the active one (rotation); returns its kid."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    jwk = public_jwk(private.public_key())
    kid = jwk["kid"]
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(keys_dir / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (keys_dir / f"{kid}.jwk.json").write_text(json.dumps(jwk, indent=2) + "\n", encoding="utf-8")
    tmp = keys_dir / f"{_ACTIVE}.tmp"
    tmp.write_text(kid + "\n", encoding="ascii")
    tmp.replace(keys_dir / _ACTIVE)
    return kid


def load_or_create_keyring(keys_dir: Path, create: bool) -> Keyring:
    """The keyring; with ``create`` (embedded and test profiles) a first key is generated."""
    try:
        return Keyring.load(keys_dir)
    except KeysMissing:
        if not create:
            raise
        generate_key(keys_dir)
        return Keyring.load(keys_dir)
