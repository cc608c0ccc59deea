"""What the documents use cases need at run time: the store, the keys and the limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from civicloom.audit import Keyring, PublicKeySet, load_or_create_keyring, load_public_keys
from civicloom.documents.adapters import build_store
from civicloom.documents.ports import DocumentStore
from civicloom.runtime import Key
from civicloom.settings import Profile, Settings


@dataclass
class DocumentsRuntime:
    """The document store, signing keys, public base URL and default limits of one process."""

    store: DocumentStore
    keys_dir: Path
    create_keys: bool
    public_url: str
    max_bytes: int
    retention_days: int
    _keyring: Keyring | None = field(default=None, repr=False)

    def keyring(self) -> Keyring:
        """The signing keys (generated on first use only in embedded/test profiles)."""
        if self._keyring is None:
            self._keyring = load_or_create_keyring(self.keys_dir, self.create_keys)
        return self._keyring

    def public_keys(self) -> PublicKeySet:
        """Every published public key, read afresh so a rotation shows at once."""
        if self.create_keys and self._keyring is None:
            self.keyring()
        return load_public_keys(self.keys_dir)


DOCUMENTS_RUNTIME: Key[DocumentsRuntime] = Key("documents runtime")
"""The process's document store, signing keys and limits."""


def build_documents_runtime(
    settings: Settings, store: DocumentStore | None = None
) -> DocumentsRuntime:
    """The runtime for a process's settings (nothing connects until first use)."""
    return DocumentsRuntime(
        store=store or build_store(settings),
        keys_dir=settings.effective_keys_dir,
        create_keys=settings.profile is not Profile.PRODUCTION,
        public_url=settings.effective_public_url.rstrip("/"),
        max_bytes=settings.document_max_bytes,
        retention_days=settings.document_retention_days,
    )
