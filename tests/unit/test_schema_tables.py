"""``civicloom.schema.TABLES`` names every table of the platform: the test databases are reset
by truncating exactly these, so a table missing here leaks rows from one test to the next on
PostgreSQL (the counter applications did)."""

from __future__ import annotations

import civicloom.app  # noqa: F401 - imports every module, so every table is in the metadata
from civicloom.db import metadata
from civicloom.schema import TABLES


def test_every_table_in_the_metadata_is_in_tables() -> None:
    listed = {t.__tablename__ for t in TABLES}
    assert set(metadata.tables) - listed == set()
    assert len(listed) == len(TABLES)
