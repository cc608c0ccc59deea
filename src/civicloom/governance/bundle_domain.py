"""Signed bundles of approved changes, as they travel between environments (ADR 0052).

A bundle is one compact JWS (RFC 7515, EdDSA over Ed25519) signed with the exporting
platform's key. Its payload names the source environment, that source's next sequence number,
when it was made, the changes and the SHA-256 of the changes. Opening a bundle checks, in this
order, that it is a signed bundle at all, that its source is a trusted environment other than
this one, that a key of that source signed it, that the signature covers every byte, and that
the payload hash matches; the order against earlier bundles needs the database and is checked
by the import use case (``expect_next``). Pure: no database, no files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from civicloom.audit import Keyring, PublicKeySet, SignatureInvalid, b64url, b64url_decode
from civicloom.kernel import canonical_json

BUNDLE_FORMAT = "civicloom-bundle/1"
BUNDLE_TYPE = "civicloom-bundle+jws"
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,48}$")


class Refusal(StrEnum):
    """Why a bundle is refused; the values are stable (logs, tests, the how-to)."""

    MALFORMED = "malformed"
    OWN_ENVIRONMENT = "own-environment"
    UNTRUSTED_SOURCE = "untrusted-source"
    UNKNOWN_SIGNER = "unknown-signer"
    TAMPERED = "tampered"
    REPLAY = "replay"
    OUT_OF_ORDER = "out-of-order"
    CHANGE_REFUSED = "change-refused"


class BundleRefused(Exception):
    """A bundle this environment will not import; the message says why in plain words."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"bundle refused ({self.reason}): {self.message}"


@dataclass(frozen=True)
class BundledChange:
    """One approved change as carried by a bundle: what it changes and who approved it there."""

    id: str
    kind: str
    target: str
    title: str
    files: Mapping[str, str]
    approvals: tuple[tuple[str, str], ...]
    effective_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The JSON form inside the payload (files sorted, so the hash is stable)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "title": self.title,
            "files": dict(sorted(self.files.items())),
            "approvals": [list(a) for a in self.approvals],
            "effective_at": self.effective_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> BundledChange:
        """Read one change of a verified payload; ValueError names what is missing."""
        if not isinstance(data, dict):
            raise ValueError("a change is not an object")
        texts = {k: data.get(k) for k in ("id", "kind", "target", "title")}
        for key, value in texts.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"a change has no {key}")
        files = data.get("files")
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise ValueError(f"change {texts['id']}: files must map paths to text")
        approvals = data.get("approvals")
        if not isinstance(approvals, list) or not all(
            isinstance(a, list) and len(a) == 2 and all(isinstance(x, str) for x in a)
            for a in approvals
        ):
            raise ValueError(f"change {texts['id']}: approvals must be [role, approver] pairs")
        effective = data.get("effective_at")
        if effective is not None and (
            not isinstance(effective, str) or _timestamp(effective) is None
        ):
            raise ValueError(f"change {texts['id']}: effective_at must be a timestamp or null")
        return cls(
            id=str(texts["id"]),
            kind=str(texts["kind"]),
            target=str(texts["target"]),
            title=str(texts["title"]),
            files=dict(files),
            approvals=tuple((a[0], a[1]) for a in approvals),
            effective_at=effective,
        )


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: where it comes from, its place in that source's order, its changes."""

    bundle_id: str
    source_environment: str
    sequence: int
    created_at: datetime
    payload_hash: str
    changes: tuple[BundledChange, ...]
    signed: str  # the bundle's text as signed (kept with the import record)


def payload_hash(changes: Sequence[BundledChange]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the changes."""
    text = canonical_json([c.to_json() for c in changes])
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_bundle(
    keyring: Keyring,
    *,
    bundle_id: str,
    source_environment: str,
    sequence: int,
    created_at: datetime,
    changes: Sequence[BundledChange],
) -> str:
    """The signed bundle text (one line: a compact JWS with the platform's active key)."""
    payload = {
        "format": BUNDLE_FORMAT,
        "bundle_id": bundle_id,
        "source_environment": source_environment,
        "sequence": sequence,
        "created_at": created_at.isoformat(),
        "payload_hash": payload_hash(changes),
        "changes": [c.to_json() for c in changes],
    }
    return keyring.sign(payload, typ=BUNDLE_TYPE) + "\n"


def open_bundle(text: str, *, own_environment: str, trusted: Mapping[str, PublicKeySet]) -> Bundle:
    """Verify a bundle's signature, source and hash; BundleRefused says what is wrong."""
    token = text.removesuffix("\n")
    if not token.strip():
        raise BundleRefused(Refusal.MALFORMED, "the file is empty, not a signed bundle")
    _canonical(token)
    claimed = _claimed_source(token)
    if claimed == own_environment:
        raise BundleRefused(
            Refusal.OWN_ENVIRONMENT,
            f"the bundle comes from this environment ({own_environment}); "
            "import it into another deployment",
        )
    keys = trusted.get(claimed)
    if keys is None:
        known = ", ".join(sorted(trusted)) or "none"
        raise BundleRefused(
            Refusal.UNTRUSTED_SOURCE,
            f"source environment {claimed!r} is not trusted here (bundle_trusted_sources: {known})",
        )
    kid = _header(token).get("kid")
    if not isinstance(kid, str) or kid not in keys.keys:
        raise BundleRefused(
            Refusal.UNKNOWN_SIGNER,
            f"signed by key {kid!r}, which is not a key of environment {claimed!r} "
            "(unknown signer)",
        )
    try:
        header, payload = keys.verify(token)
    except SignatureInvalid as exc:
        raise BundleRefused(
            Refusal.TAMPERED,
            f"the signature does not match the content ({exc}): "
            "the bundle was changed after it was signed",
        ) from exc
    if header.get("typ") != BUNDLE_TYPE or payload.get("format") != BUNDLE_FORMAT:
        raise BundleRefused(Refusal.MALFORMED, f"not a {BUNDLE_FORMAT} bundle")
    return _bundle_of(payload, token + "\n")


def expect_next(bundle: Bundle, last_sequence: int, imported_at: datetime | None) -> None:
    """Refuse a bundle that is not the next one from its source (``last_sequence`` 0: none)."""
    source, sequence = bundle.source_environment, bundle.sequence
    if sequence <= last_sequence:
        when = f" on {imported_at:%Y-%m-%d %H:%M} UTC" if imported_at else ""
        raise BundleRefused(
            Refusal.REPLAY,
            f"bundle {sequence} from {source} was imported already{when} "
            f"(the last imported is {last_sequence}); a bundle is imported once",
        )
    if sequence != last_sequence + 1:
        raise BundleRefused(
            Refusal.OUT_OF_ORDER,
            f"bundle {sequence} from {source} is out of order: import bundle "
            f"{last_sequence + 1} first",
        )


def _timestamp(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _segment(token: str, index: int) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise BundleRefused(Refusal.MALFORMED, "not a signed bundle (expected a compact JWS)")
    try:
        value = json.loads(b64url_decode(parts[index]))
    except (SignatureInvalid, ValueError, UnicodeDecodeError):
        raise BundleRefused(
            Refusal.TAMPERED,
            "the content cannot be read: the bundle was changed after it was signed "
            "(or damaged on the way)",
        ) from None
    if not isinstance(value, dict):
        raise BundleRefused(Refusal.MALFORMED, "not a signed bundle (no JSON object)")
    return value


def _canonical(token: str) -> None:
    """Every byte of the file counts: three base64url segments, each in the one encoding
    ``seal_bundle`` writes (so no unused bit of a last character may differ, RFC 4648 §3.5),
    and nothing around them but the final newline."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise BundleRefused(Refusal.MALFORMED, "not a signed bundle (expected a compact JWS)")
    for part in parts:
        try:
            canonical = b64url(b64url_decode(part)) == part
        except SignatureInvalid:
            canonical = False
        if not canonical:
            raise BundleRefused(
                Refusal.TAMPERED,
                "the content cannot be read: the bundle was changed after it was signed "
                "(or damaged on the way)",
            )


def _header(token: str) -> dict[str, Any]:
    return _segment(token, 0)


def _claimed_source(token: str) -> str:
    # Read before verifying only to choose whose keys to verify with (like a JWT's ``iss``).
    source = _segment(token, 1).get("source_environment")
    if not isinstance(source, str) or not ENVIRONMENT_NAME.match(source):
        raise BundleRefused(Refusal.MALFORMED, "the bundle names no source environment")
    return source


def _bundle_of(payload: dict[str, Any], signed: str) -> Bundle:
    try:
        sequence = payload["sequence"]
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise ValueError("sequence must be a positive integer")
        created = datetime.fromisoformat(str(payload["created_at"]))
        if created.tzinfo is None:
            raise ValueError("created_at has no time zone")
        raw = payload["changes"]
        if not isinstance(raw, list) or not raw:
            raise ValueError("the bundle carries no change")
        changes = tuple(BundledChange.from_json(c) for c in raw)
        bundle_id = str(payload["bundle_id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleRefused(Refusal.MALFORMED, f"the payload is incomplete: {exc}") from exc
    stated = payload.get("payload_hash")
    if stated != payload_hash(changes):
        raise BundleRefused(
            Refusal.TAMPERED, "the payload hash does not match the changes the bundle carries"
        )
    return Bundle(
        bundle_id=bundle_id,
        source_environment=str(payload["source_environment"]),
        sequence=sequence,
        created_at=created,
        payload_hash=str(stated),
        changes=changes,
        signed=signed,
    )
