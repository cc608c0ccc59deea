"""File-exchange connector plugin for legacy batch systems (CSV files signed with HMAC)."""

from civicloom.connectors.filedrop.connector import (
    AnswerFile,
    FileDropBinding,
    FileDropConnector,
    FileDropOptions,
)

__all__ = ["AnswerFile", "FileDropBinding", "FileDropConnector", "FileDropOptions"]
