"""Who calls the GovStack listener: keys in any GovStack header, registered aliases, and the
Information Mediator header (logged always, an identity only behind a trusted IM)."""

from __future__ import annotations

import httpx
import pytest

from civicloom.govstack.clients import ProductionRefused, register_client
from civicloom.identity import revoke_api_key
from civicloom.notifications.tables import DeliveryRow
from civicloom.runtime import Container
from civicloom.settings import Profile
from tests.conftest import as_persona
from tests.integration.govstack.conftest import AuditActions, CountRows, MachineKey
from tests.wiring import reconfigure

MAIL = {
    "recipientInfo": {"email": "q@example.org"},
    "emailContent": {"title": "Reminder", "content": "Pay by Friday"},
}
IM_ID = "eGovStack/GOV/90000009/tax-system"


async def _send(gs_client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await gs_client.post("/send/email/single", json=MAIL, headers=headers)


@pytest.mark.parametrize("header", ["api_key", "apiKey", "Authorization"])
async def test_a_platform_key_in_any_govstack_header(
    gs_client: httpx.AsyncClient,
    machine_key: MachineKey,
    count_rows: CountRows,
    audit_actions: AuditActions,
    header: str,
) -> None:
    key = await machine_key("messaging:send")
    value = f"Bearer {key}" if header == "Authorization" else key
    sent = await _send(gs_client, {header: value})
    assert sent.status_code == 200, sent.text
    assert await count_rows(DeliveryRow) == 1
    assert await audit_actions("messaging.") == ["messaging.email_queued"]


async def test_a_registered_alias_acts_as_its_client_outside_production(
    container: Container,
    gs_client: httpx.AsyncClient,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    client = await register_client(
        container,
        name="suite-mailer",
        department="tax",
        scopes=["messaging:send"],
        aliases=("abcdef12345",),
    )
    assert client.key is not None
    sent = await _send(gs_client, {"api_key": "abcdef12345"})
    assert sent.status_code == 200, sent.text
    assert await audit_actions("messaging.") == ["messaging.email_queued"]

    # registering again changes nothing (the same client, no new key)
    again = await register_client(
        container,
        name="suite-mailer",
        department="tax",
        scopes=["messaging:send"],
        aliases=("abcdef12345",),
    )
    assert (again.prefix, again.key) == (client.prefix, None)

    unknown = await _send(gs_client, {"api_key": "abcdef12346"})
    assert unknown.status_code == 405  # the Messaging suite's status for "no valid key"
    assert unknown.json()["status"] == 401

    # production never honours an alias (the suites' keys are published)
    # (only the profile changes: the caller reads it on each request)
    container.settings = container.settings.model_copy(update={"profile": Profile.PRODUCTION})
    refused = await _send(gs_client, {"api_key": "abcdef12345"})
    assert refused.status_code == 405
    assert refused.json()["title"] == "Authentication required"
    assert await count_rows(DeliveryRow) == 1
    assert await audit_actions("messaging.") == ["messaging.email_queued"]
    with pytest.raises(ProductionRefused):
        await register_client(container, name="x", department="tax", scopes=["messaging:send"])


async def test_the_im_header_identifies_only_behind_a_trusted_im(
    container: Container,
    gs_client: httpx.AsyncClient,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    client = await register_client(
        container,
        name="tax-system",
        department="tax",
        scopes=["messaging:send"],
        im_clients=(IM_ID,),
    )
    header = {"Information-Mediator-Client": IM_ID}
    untrusted = await _send(gs_client, header)
    assert untrusted.status_code == 405
    assert untrusted.json()["title"] == "Authentication required"
    assert await count_rows(DeliveryRow) == 0

    reconfigure(container, container.settings.model_copy(update={"govstack_trust_im_header": True}))
    trusted = await _send(gs_client, header)
    assert trusted.status_code == 200, trusted.text
    assert await count_rows(DeliveryRow) == 1

    unregistered = await _send(gs_client, {"Information-Mediator-Client": "eGovStack/GOV/1/other"})
    assert unregistered.status_code == 405
    assert unregistered.json()["title"] == "Authentication required"

    await revoke_api_key(container.uow(), container.clock, client.prefix)
    revoked = await _send(gs_client, header)
    assert revoked.status_code == 405
    assert await count_rows(DeliveryRow) == 1
    assert await audit_actions("messaging.") == ["messaging.email_queued"]


@pytest.mark.parametrize(
    "value", ["eGovStack/GOV/90000009", "a/b/c/d/e", "eGovStack/GOV/9 9/x", "/GOV/1/x"]
)
async def test_a_malformed_im_header_is_refused_naming_it(
    gs_client: httpx.AsyncClient, machine_key: MachineKey, count_rows: CountRows, value: str
) -> None:
    key = await machine_key("messaging:send")
    listed = await gs_client.get(
        "/civicloom/GOV/tax/capabilities/listMethods",
        headers={"api_key": key, "Information-Mediator-Client": value},
    )
    assert listed.status_code == 400
    assert [(e["field"], e["rule"]) for e in listed.json()["errors"]] == [
        ("Information-Mediator-Client", "format")
    ]
    sent = await _send(gs_client, {"api_key": key, "Information-Mediator-Client": value})
    assert sent.status_code == 405
    assert await count_rows(DeliveryRow) == 0


async def test_the_im_header_beside_a_key_is_only_logged(
    container: Container,
    gs_client: httpx.AsyncClient,
    machine_key: MachineKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key decides who calls; the header rides along in the request's log lines."""
    await register_client(
        container,
        name="labour-system",
        department="labour",
        scopes=["messaging:send"],
        im_clients=(IM_ID,),
    )
    reconfigure(container, container.settings.model_copy(update={"govstack_trust_im_header": True}))
    reader = await machine_key("applications:read")
    sent = await _send(gs_client, {"api_key": reader, "Information-Mediator-Client": IM_ID})
    assert sent.status_code == 403
    assert f'"im_client": "{IM_ID}"' in capsys.readouterr().err


@pytest.mark.parametrize("persona", ["alice", "olivia", "priya"])
async def test_a_person_cannot_send_through_the_facade(
    gs_client: httpx.AsyncClient, count_rows: CountRows, persona: str
) -> None:
    refused = await _send(gs_client, as_persona(persona))
    assert refused.status_code == 403
    assert await count_rows(DeliveryRow) == 0


async def test_the_im_header_is_never_an_identity_on_the_main_app(
    container: Container, count_rows: CountRows
) -> None:
    """The facades mounted on the public app (``govstack_base_path``) do not sit behind the IM
    security server: even with trust on, the header names nobody there (found by review)."""
    from civicloom.app import create_app

    await register_client(
        container,
        name="tax-system",
        department="tax",
        scopes=["messaging:send"],
        im_clients=(IM_ID,),
    )
    reconfigure(
        container,
        container.settings.model_copy(
            update={"govstack_trust_im_header": True, "govstack_base_path": "/govstack"}
        ),
    )
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as main:
        spoofed = await main.post(
            "/govstack/send/email/single",
            json=MAIL,
            headers={"Information-Mediator-Client": IM_ID},
        )
    assert spoofed.status_code == 401
    assert await count_rows(DeliveryRow) == 0


async def test_the_fixtures_are_refused_in_production_before_any_loader_runs(
    container: Container, count_rows: CountRows
) -> None:
    from civicloom.govstack.fixtures import load_all
    from civicloom.registries.tables import ConsentRow

    container.settings = container.settings.model_copy(update={"profile": Profile.PRODUCTION})
    before = await count_rows(ConsentRow)
    with pytest.raises(ProductionRefused):
        await load_all(container)
    assert await count_rows(ConsentRow) == before
