"""Conformance tests run against a running GovStack listener (``make conformance``).

``GOVSTACK_URL`` (default ``http://localhost:3333``) is the listener; ``GOVSTACK_API_KEY`` the
API key the fixtures issued to the conformance client. These tests are not part of
``make test``: they need the platform started with its fixtures loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

GOVSTACK_URL = os.environ.get("GOVSTACK_URL", "http://localhost:3333")


@pytest.fixture(scope="session")
def gs() -> Iterator[httpx.Client]:
    """A client of the GovStack listener, without credentials."""
    with httpx.Client(base_url=GOVSTACK_URL, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def api_key() -> str:
    """The conformance client's API key."""
    return os.environ.get("GOVSTACK_API_KEY", "")


IM_CLIENT = "civicloom/GOV/local-admin/conformance"
"""The subsystem the fixtures register for these tests (``govstack/fixtures/mediator.py``)."""


@pytest.fixture(scope="session")
def im_headers() -> dict[str, str]:
    """The ``Information-Mediator-Client`` header of the conformance subsystem (trusted by the
    listener ``make conformance`` starts, as behind an IM security server)."""
    return {"Information-Mediator-Client": IM_CLIENT}
