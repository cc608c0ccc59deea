"""A failover database URL (several hosts, ``target_session_attrs``) keeps every host when it
is turned into the connection string the worker's LISTEN connection opens (ADR 0060)."""

from __future__ import annotations

import pytest

from civicloom.db import libpq_dsn


@pytest.mark.parametrize(
    ("url", "dsn"),
    [
        (
            "postgresql+asyncpg://civicloom:s%40cret@/civicloom"
            "?host=10.231.100.31:5432&host=10.231.100.32:5432&target_session_attrs=read-write",
            "postgresql://civicloom:s%40cret@10.231.100.31:5432,10.231.100.32:5432/civicloom"
            "?target_session_attrs=read-write",
        ),
        (
            "postgresql+asyncpg://civicloom@/civicloom?host=db1:5433",
            "postgresql://civicloom@db1:5433/civicloom",
        ),
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
            "postgresql://postgres@127.0.0.1:5432/postgres",
        ),
    ],
)
def test_every_host_of_the_url_is_in_the_connection_string(url: str, dsn: str) -> None:
    assert libpq_dsn(url) == dsn
