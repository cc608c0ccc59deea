"""Licences: issued as signed PDFs; genuine, forged, altered, expired and revoked verify as such."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from civicloom.audit import Keyring, b64url, b64url_decode, generate_key
from civicloom.catalogue import Retention
from civicloom.cli import app as cli
from civicloom.documents import (
    LicenceRef,
    Validity,
    build_documents_runtime,
    extract_token,
    issue_licence,
)
from civicloom.documents.tables import DocumentRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.documents.helpers import ALICE, BOB, OLIVIA, TARIQ, new_application

HOLDER = {"name": "Golden Dragon Kitchen Ltd", "registration_number": "BR-2019-004211"}


async def issue(
    container: Container, app_id: str, days_from: int = -1, days: int = 365
) -> LicenceRef:
    """Issue a licence the way the case engine does, inside its own transaction."""
    runtime = build_documents_runtime(container.settings)
    now = container.clock.now()
    async with container.uow() as uow:
        ref = await issue_licence(
            uow.session,
            runtime,
            now,
            application_id=app_id,
            holder=HOLDER,
            activity="Restaurant (seated, 40 covers)",
            premises="12 Harbour Street, parcel P-0042-117",
            validity=Validity(
                now + timedelta(days=days_from), now + timedelta(days=days_from + days)
            ),
            issuing_department="local-admin",
            actor="system:case-engine",
        )
        await uow.commit()
    return ref


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified."""
    payload: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return payload


async def status(client: httpx.AsyncClient, token: str) -> str:
    """What the public token verification says."""
    response = await client.post("/api/v1/licences/verification", json={"token": token})
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def offline(tmp_path: Path, subject: str | bytes, jwks: dict[str, Any]) -> tuple[int, str]:
    """``civicloom verify <file> --jwks <file>`` with no database at all."""
    target = tmp_path / "licence.pdf"
    target.write_bytes(subject if isinstance(subject, bytes) else subject.encode())
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks))
    result = CliRunner().invoke(cli, ["verify", str(target), "--jwks", str(keys)])
    return result.exit_code, result.output


async def test_a_genuine_licence_verifies_online_and_offline(
    client: httpx.AsyncClient, container: Container, tmp_path: Path
) -> None:
    app_id = await new_application(client)
    ref = await issue(container, app_id)

    pdf = await client.get(f"/api/v1/licences/{ref.id}.pdf", headers=ALICE)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert extract_token(pdf.content) == ref.token
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert ref.id in text
    assert "Golden Dragon Kitchen Ltd" in text
    assert (await client.get(f"/api/v1/licences/{ref.id}.pdf", headers=BOB)).status_code == 404
    assert (await client.get(f"/api/v1/licences/{ref.id}.pdf", headers=OLIVIA)).status_code == 200

    verification = (await client.get(f"/api/v1/licences/{ref.id}/verification")).json()
    assert verification["status"] == "valid"
    assert verification["holder"] == HOLDER
    assert verification["revocation_checked"] is True
    page = await client.get(f"/verify/{ref.id}")
    assert page.status_code == 200
    assert "This licence is valid" in page.text
    assert (await client.get("/verify/LIC-2026-NOSUCH00")).status_code == 404

    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert claims_of(ref.token)["kid"] in {k["kid"] for k in jwks["keys"]}
    code, output = offline(tmp_path, pdf.content, jwks)
    assert code == 0, output
    assert "VALID" in output
    assert "revocation not checked" in output


async def test_forged_altered_expired_and_revoked(
    client: httpx.AsyncClient, container: Container, tmp_path: Path
) -> None:
    app_id = await new_application(client)
    genuine = await issue(container, app_id)
    expired = await issue(container, app_id, days_from=-400, days=30)
    jwks = (await client.get("/.well-known/jwks.json")).json()

    # Altered: the payload changed after signing.
    head, _payload, signature = genuine.token.split(".")
    claims = {**claims_of(genuine.token), "premises": "99 Elsewhere Road"}
    altered = f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"
    # Forged: someone signs a licence with their own key, claiming our key id.
    attacker_dir = tmp_path / "attacker"
    generate_key(attacker_dir)
    attacker = Keyring.load(attacker_dir)
    forged = Keyring(claims_of(genuine.token)["kid"], attacker._private, attacker.public).sign(
        claims
    )
    foreign = attacker.sign(claims)

    assert await status(client, genuine.token) == "valid"
    assert await status(client, altered) == "forged"
    assert await status(client, forged) == "forged"
    assert await status(client, foreign) == "forged"
    assert await status(client, expired.token) == "expired"
    for token, code in [(altered, 5), (forged, 5), (expired.token, 3)]:
        assert offline(tmp_path, token, jwks)[0] == code
    tampered_pdf = (await client.get(f"/api/v1/licences/{genuine.id}.pdf", headers=ALICE)).content
    tampered_pdf = tampered_pdf.replace(genuine.token.encode(), altered.encode())
    assert offline(tmp_path, tampered_pdf, jwks)[0] == 5

    # Revocation: only officers and supervisors of the issuing department. Another
    # department's officer does not learn the licence is theirs to act on (404); the service
    # owner and the finance officer of the issuing department have the wrong role (403).
    url = f"/api/v1/licences/{genuine.id}/revocation"
    body = {"reason": "premises closed by court order"}
    assert (await client.post(url, json=body, headers=ALICE)).status_code == 403
    assert (await client.post(url, json=body, headers=TARIQ)).status_code == 404
    assert (await client.post(url, json=body, headers=as_persona("sam"))).status_code == 403
    assert (await client.post(url, json=body, headers=as_persona("fiona"))).status_code == 403
    assert (await client.post(url, json=body, headers=OLIVIA)).status_code == 204
    assert (await client.post(url, json=body, headers=OLIVIA)).status_code == 409
    assert await status(client, genuine.token) == "revoked"
    revoked = (await client.get(f"/api/v1/licences/{genuine.id}/verification")).json()
    assert revoked["status"] == "revoked"
    assert "revoked" in (await client.get(f"/verify/{genuine.id}")).text


async def test_rotation_keeps_earlier_licences_valid(
    client: httpx.AsyncClient, container: Container
) -> None:
    app_id = await new_application(client)
    before = await issue(container, app_id)
    new_kid = generate_key(container.settings.effective_keys_dir)
    after = await issue(container, app_id)  # a fresh runtime loads the new active key
    assert claims_of(after.token)["kid"] == new_kid != claims_of(before.token)["kid"]
    kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert {claims_of(before.token)["kid"], new_kid} <= kids
    assert await status(client, before.token) == "valid"
    assert await status(client, after.token) == "valid"


@pytest.mark.parametrize("token", ["", "a.b.c", "x" * 9000])
async def test_garbage_tokens_are_4xx_or_forged(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/api/v1/licences/verification", json={"token": token})
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.json()["status"] == "forged"


async def test_a_licence_pdf_is_kept_its_declared_retention_after_it_expires(
    client: httpx.AsyncClient, container: Container
) -> None:
    """ADR 0050: the certificate's declared retention (P1Y) runs from the end of validity."""
    app_id = await new_application(client)
    runtime = build_documents_runtime(container.settings)
    start = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    async with container.uow() as uow:
        ref = await issue_licence(
            uow.session,
            runtime,
            container.clock.now(),
            application_id=app_id,
            holder=HOLDER,
            activity="Restaurant",
            premises="12 Harbour Street",
            validity=Validity(start - timedelta(days=365), start),
            issuing_department="local-admin",
            actor="system:case-engine",
            retention=Retention(years=1),
        )
        await uow.commit()
    async with container.uow() as uow:
        row = await uow.session.scalar(select(DocumentRow).where(DocumentRow.id == ref.document_id))
    assert row is not None
    assert row.retain_until == datetime(2029, 2, 28, 12, 0, tzinfo=UTC)
