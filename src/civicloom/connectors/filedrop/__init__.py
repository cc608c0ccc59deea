"""File-exchange connector plugin for legacy batch systems (CSV files signed with HMAC)."""

from civicloom.connectors.filedrop.connector import (
    FileDropBinding,
    FileDropConnector,
    FileDropOptions,
)

__all__ = ["FileDropBinding", "FileDropConnector", "FileDropOptions"]
