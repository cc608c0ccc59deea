"""Once-only with real processes: the API reads the local administration's and the tax
authority's simulators (SOAP, REST) only after consent, under the agreements, and only for the
business's director; revoking stops further reads.

The draft's answers must equal the simulators' seed data (Golden Dragon Kitchen Ltd, its tax id,
the land parcel's address); each read is a ``registry_data_use`` row; the local-admin simulator
logs every land-parcel look-up.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest

from tests.system.platform import Platform, _libpq

ALICE = {"Authorization": "Bearer dev:alice", "Accept": "text/html"}
BOB = {"Authorization": "Bearer dev:bob", "Accept": "text/html"}
GOLDEN = "BR-2019-004211"
PARCEL = "P-0042-117"  # commercial, "117 Market Street, Riverton" in the land-parcel register


def _rows(platform: Platform, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(_libpq(platform.database_url)) as conn:
        return list(conn.execute(sql, args).fetchall())


def _uses(platform: Platform, subject: str) -> list[tuple[str, str]]:
    return sorted(
        (str(a), str(c))
        for a, c in _rows(
            platform,
            "SELECT agreement_id, capability FROM registry_data_use WHERE subject = %s",
            subject,
        )
    )


def _draft(platform: Platform, draft_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ((data, prefilled),) = _rows(
        platform, "SELECT data, prefilled FROM portal_drafts WHERE id = %s", draft_id
    )
    return data, prefilled


def _start(http: httpx.Client, headers: dict[str, str]) -> tuple[str, str]:
    response = http.post("/services/open-a-restaurant/apply", headers=headers)
    assert response.status_code == 303, response.text
    target = response.headers["location"]
    found = re.search(r"/drafts/([0-9a-f-]{36})/", target)
    assert found is not None, target
    return found.group(1), target


def _parcel_lookups(platform: Platform) -> int:
    return platform.sims["local_admin"].log().count(f"LookupParcel parcel={PARCEL}")


@pytest.mark.timeout(120)
def test_prefill_from_the_simulators_only_with_consent_and_for_the_director(
    platform: Platform,
) -> None:
    with httpx.Client(base_url=platform.api_url, timeout=20) as http:
        # Without consent nothing is read.
        declined, target = _start(http, ALICE)
        assert target.endswith("/prefill")
        page = http.get(target, headers=ALICE).text
        for agreement in ("DSA-2025-101", "DSA-2025-102", "DSA-2025-103"):
            assert f'data-agreement="{agreement}"' in page
        assert 'data-prefill-asks="parcel_id"' in page
        no = http.post(target, data={"consent": "no", "parcel_id": PARCEL}, headers=ALICE)
        assert no.status_code == 303
        assert _uses(platform, "alice") == []
        assert _parcel_lookups(platform) == 0
        data, prefilled = _draft(platform, declined)
        assert (data, prefilled) == ({}, {})

        # With consent: business, director, tax id and the parcel's address from the simulators.
        draft, target = _start(http, ALICE)
        yes = http.post(target, data={"consent": "yes", "parcel_id": PARCEL}, headers=ALICE)
        assert yes.status_code == 303, yes.text
        data, prefilled = _draft(platform, draft)
        assert data == {
            "business_registration_number": GOLDEN,
            "business_name": "Golden Dragon Kitchen Ltd",
            "director_name": "Alice Chen",
            "tax_id": "TIN-2019-004211",
            "parcel_id": PARCEL,
            "premises_address": "117 Market Street, Riverton",
        }
        assert prefilled["premises_address"] == {"department": "local-admin", "kind": "register"}
        assert prefilled["tax_id"] == {"department": "tax", "kind": "register"}
        assert "parcel_id" not in prefilled  # the applicant's own answer
        assert _uses(platform, "alice") == [
            ("DSA-2025-101", "local-admin.business_lookup"),
            ("DSA-2025-102", "tax.taxpayer_lookup"),
            ("DSA-2025-103", "local-admin.parcel_lookup"),
        ]
        assert _parcel_lookups(platform) == 1
        premises = http.get(f"/drafts/{draft}/pages/premises", headers=ALICE).text
        assert ">117 Market Street, Riverton<" in premises
        assert 'data-prefill-source="premises_address"' in premises

        # After revocation a new draft reads nothing more.
        ((consent_id,),) = _rows(
            platform, "SELECT id FROM registry_consents WHERE subject = %s", "alice"
        )
        revoked = http.post(f"/consents/{consent_id}/revoke", headers=ALICE)
        assert revoked.status_code == 303
        again, target = _start(http, ALICE)
        http.post(target, data={"consent": "no", "parcel_id": PARCEL}, headers=ALICE)
        assert len(_uses(platform, "alice")) == 3
        assert _parcel_lookups(platform) == 1
        assert _draft(platform, again)[0] == {}

        # Bob is not Golden Dragon's director and holds no mandate: nothing of it is filled.
        bobs, target = _start(http, BOB)
        assert "/prefill" not in target  # nothing Bob could be prefilled with
        saved = http.post(
            f"/drafts/{bobs}/pages/business",
            data={"business_registration_number": GOLDEN, "action": "save"},
            headers=BOB,
        )
        assert saved.status_code == 303
        http.post(f"/drafts/{bobs}/prefill", data={"consent": "yes"}, headers=BOB)
        data, _ = _draft(platform, bobs)
        assert data == {"business_registration_number": GOLDEN}
        outcomes = _rows(
            platform, "SELECT outcome FROM registry_representations WHERE subject = %s", "bob"
        )
        assert outcomes == [("refused",)]
