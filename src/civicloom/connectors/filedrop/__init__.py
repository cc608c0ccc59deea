"""File-exchange connector plugin for legacy batch systems (checksummed CSV files)."""

from civicloom.connectors.filedrop.connector import (
    FileDropBinding,
    FileDropConnector,
    FileDropOptions,
)

__all__ = ["FileDropBinding", "FileDropConnector", "FileDropOptions"]
