"""Storage adapters and the factory that picks one from the settings."""

from civicloom.documents.adapters.local import LocalDocumentStore
from civicloom.documents.adapters.s3 import S3DocumentStore
from civicloom.documents.ports import DocumentStore
from civicloom.settings import Settings


def build_store(settings: Settings) -> DocumentStore:
    """Local files under ``<var_dir>/documents`` by default, else the configured S3 bucket."""
    if settings.document_storage == "s3":
        return S3DocumentStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
        )
    return LocalDocumentStore(settings.var_dir / "documents")


__all__ = ["LocalDocumentStore", "S3DocumentStore", "build_store"]
