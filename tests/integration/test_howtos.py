"""The how-tos work as written: add-a-department and add-a-service, followed to the letter.

A temporary copy of ``blueprints/`` and ``simulators/`` gets every snippet of the two pages
(``tests/howtos.py``, ADR 0031): a fifth department (Building Control) with its own simulator,
a staff persona, an agreement and a third service. The pages' own commands register and publish
them against a temporary SQLite database; ``civicloom run`` starts the platform and every
declared simulator (the new one included) on free ports; then an application goes through the
service to "approved". Nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.settings import PROJECT_ROOT, Profile, Settings
from tests.howtos import Snippet, apply, snippets
from tests.oidc.harness import CLIENT_ID, CLIENT_SECRET, login_at_provider, run_provider
from tests.unit.documents import samples

HOWTOS = PROJECT_ROOT / "docs" / "how-to"
ALICE = {"Authorization": "Bearer dev:alice"}
BRUNO = {"Authorization": "Bearer dev:bruno"}
DEADLINE_SECONDS = 90


def _free_port_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports, below the ephemeral range (32768+) so
    that no outgoing connection of another process takes one between this probe and the bind."""
    chooser = random.SystemRandom()
    for _ in range(100):
        base = chooser.randrange(20000, 32000 - size)
        free = True
        for port in range(base, base + size):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no free port block")


def _until(what: str, probe: Callable[[], Any], group: subprocess.Popen[bytes]) -> Any:
    """Poll ``probe`` until it returns something truthy; fail on time or if the group died."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert group.poll() is None, f"civicloom run exited while waiting for {what}"
        try:
            found = probe()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Project:
    """The temporary project: its root, the environment of its commands, its ports."""

    root: Path
    env: dict[str, str]
    api: str
    simulator_base_port: int


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the demo's blueprints and simulators, a fresh SQLite database, free ports."""
    root = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PROJECT_ROOT / "blueprints", root / "blueprints", ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "simulators", root / "simulators", ignore=ignore)
    # Ports: simulator offsets 0-6 (the demo's six and the new one), the API, worker metrics.
    base = _free_port_block(9)
    api_port = base + 7
    inherited = os.environ.get("PYTHONPATH", "")
    env = {
        **os.environ,
        # The copy's `simulators` package (with the new department's) comes first.
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(root), str(PROJECT_ROOT / "src"), inherited) if p
        ),
        "CIVICLOOM_PROFILE": "embedded",
        "CIVICLOOM_BLUEPRINTS_DIR": str(root / "blueprints"),
        "CIVICLOOM_VAR_DIR": str(tmp_path / "var"),
        "CIVICLOOM_DATABASE_URL": "",  # the SQLite database in the var dir
        "CIVICLOOM_PORT": str(api_port),
        "CIVICLOOM_SIMULATOR_BASE_PORT": str(base),
        "CIVICLOOM_AMQP_URL": "",  # the labour office over its REST twin
        "CIVICLOOM_CONNECTOR_BASE_URLS": "{}",
        "CIVICLOOM_CONNECTOR_SECRETS": "{}",  # building.api_key: a generated dev secret
    }
    subprocess.run(
        [sys.executable, "-m", "civicloom", "db", "upgrade"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Project(root, env, f"http://127.0.0.1:{api_port}", base)


def _follow(page: str, project: Project) -> list[Snippet]:
    """Apply every marked snippet of a how-to, in order; returns them."""
    found = snippets(HOWTOS / page)
    for snippet in found:
        apply(snippet, project.root, project.env)
    return found


@pytest.mark.timeout(300)
def test_a_fifth_department_and_a_third_service_from_the_howtos(project: Project) -> None:
    department = _follow("add-a-department.md", project)
    service = _follow("add-a-service.md", project)
    assert [s.title for s in department] == [
        "blueprints/departments/building.yaml",
        "blueprints/demo/personas.yaml",
        "simulators/building/__init__.py",
        "simulators/building/__main__.py",
        "simulators/building/app.py",
        "blueprints/simulators.yaml",
        "shell",
    ]
    assert [s.title for s in service] == [
        "blueprints/services/public-venue-licence/blueprint.yaml",
        "blueprints/agreements/DSA-2025-104.yaml",
        "blueprints/agreements/DSA-2025-105.yaml",
        "shell",
    ]
    # Nothing of it reached the repository's own blueprints or simulators.
    assert not (PROJECT_ROOT / "blueprints" / "departments" / "building.yaml").exists()
    assert not (PROJECT_ROOT / "simulators" / "building").exists()

    log_path = project.root.parent / "run.log"
    with log_path.open("wb") as log:
        group = subprocess.Popen(
            [sys.executable, "-m", "civicloom", "run"],
            cwd=project.root,
            env=project.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _journey(project, group)
        except AssertionError as exc:
            tail = log_path.read_text(errors="replace")[-6000:]
            raise AssertionError(f"{exc}\n--- civicloom run ---\n{tail}") from exc
        finally:
            group.send_signal(signal.SIGINT)  # as Ctrl-C: the group stops every child
            try:
                group.wait(timeout=60)
            except subprocess.TimeoutExpired:
                group.kill()
                group.wait()
    assert group.returncode == 0, log_path.read_text(errors="replace")[-6000:]


def _journey(project: Project, group: subprocess.Popen[bytes]) -> None:
    with httpx.Client(base_url=project.api, timeout=10) as http:
        _apply_and_decide(project, group, http)


def _apply_and_decide(project: Project, group: subprocess.Popen[bytes], http: httpx.Client) -> None:
    building = f"http://127.0.0.1:{project.simulator_base_port + 6}"  # port_offset: 6
    tax = f"http://127.0.0.1:{project.simulator_base_port + 1}"
    _until("the API", lambda: http.get("/readyz").status_code == 200, group)
    health = _until("the building simulator", lambda: httpx.get(f"{building}/_sim/health"), group)
    assert health.json() == {"status": "ok", "department": "building"}

    services = {s["id"]: s for s in http.get("/api/v1/services").json()}
    assert services["public-venue-licence"]["title"] == {
        "en": "Licence a public venue",
        "zh-Hans": "公共场所许可",
    }
    assert services["public-venue-licence"]["owner"] == "building"

    # The applicant's journey in the portal. With consent, the business register (read first:
    # it names Alice as the director) and the taxpayer register fill in the form, under the
    # agreements `civicloom agreements sync` stored.
    html = {**ALICE, "Accept": "text/html"}
    started = http.post("/services/public-venue-licence/apply", headers=html)
    assert started.status_code == 303, started.text
    consent_page = started.headers["location"]
    assert consent_page.endswith("/prefill")
    asked = http.get(consent_page, headers=html).text
    for agreement in ("DSA-2025-104", "DSA-2025-105"):
        assert f'data-agreement="{agreement}"' in asked
    consented = http.post(consent_page, data={"consent": "yes"}, headers=html)
    assert consented.status_code == 303, consented.text
    draft = consent_page.removesuffix("/prefill")
    assert consented.headers["location"] == f"{draft}/pages/business"
    business = http.get(f"{draft}/pages/business", headers=html).text
    for value in ("BR-2019-004211", "Golden Dragon Kitchen Ltd", "TIN-2019-004211"):
        assert f'value="{value}"' in business, value
    answers = {
        "business": {
            "business_registration_number": "BR-2019-004211",
            "business_name": "Golden Dragon Kitchen Ltd",
            "tax_id": "TIN-2019-004211",
        },
        "venue": {"parcel_id": "P-0042-117", "occupants": "120"},
    }
    for page_id, fields in answers.items():
        saved = http.post(f"{draft}/pages/{page_id}", data=fields, headers=html)
        assert saved.status_code == 303, saved.text
    check = http.get(f"{draft}/check", headers=html).text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', check)
    assert key is not None, check
    sent = http.post(f"{draft}/submit", data={"idempotency_key": key.group(1)}, headers=html)
    assert sent.status_code == 303, sent.text
    confirmation = re.fullmatch(
        r"/applications/([0-9a-f-]{36})/confirmation", sent.headers["location"]
    )
    assert confirmation is not None, sent.headers["location"]
    app_id = confirmation.group(1)
    application = http.get(f"/api/v1/applications/{app_id}", headers=ALICE).json()
    assert application["reference"].startswith("PVL-")
    assert application["blueprint_version"] == 1
    assert application["data"] == {
        "business_registration_number": "BR-2019-004211",
        "business_name": "Golden Dragon Kitchen Ltd",
        "tax_id": "TIN-2019-004211",
        "parcel_id": "P-0042-117",
        "occupants": 120,
    }

    # Both departments answer; the join puts the review in Building Control's queue.
    def review_task() -> dict[str, Any] | None:
        tasks = http.get("/api/v1/tasks", headers=BRUNO).json()
        mine = [t for t in tasks if t["application_id"] == app_id]
        return mine[0] if mine else None

    task = _until("the inspector's task", review_task, group)
    assert (task["step"], task["department"], task["role"]) == (
        "inspection",
        "building",
        "building-inspector",
    )
    claimed = http.post(f"/api/v1/tasks/{task['id']}/claim", headers=BRUNO)
    assert claimed.status_code == 200, claimed.text
    decided = http.post(
        f"/api/v1/tasks/{task['id']}/decision", headers=BRUNO, json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.text

    def final() -> dict[str, Any] | None:
        status: dict[str, Any] = http.get(
            f"/api/v1/applications/{app_id}/status", headers=ALICE
        ).json()
        return status if status["application"]["state"] == "approved" else None

    status = _until("approval", final, group)
    assert status["application"]["state"] == "approved"
    assert {s["step"]: (s["department"], s["state"]) for s in status["steps"]} == {
        "tax_clearance": ("tax", "completed"),
        "occupancy": ("building", "completed"),
        "inspection": ("building", "completed"),
    }
    assert [(e["event"], e["step"], e["department"]) for e in status["timeline"]] == [
        ("step.completed", "tax_clearance", "tax"),
        ("step.completed", "occupancy", "building"),
        ("step.review", "inspection", "building"),
        ("step.completed", "inspection", "building"),
        ("application.approved", None, None),
    ]
    assert status["timeline"][-1]["message"] == "Your application has been approved"

    # What the applicant sees: the step titles of the blueprint, the department's name.
    page = http.get(f"/applications/{app_id}", headers={**ALICE, "Accept": "text/html"})
    assert page.status_code == 200
    for text in ("Licence a public venue", "Review by a building inspector", "Building Control"):
        assert text in page.text

    # The new department's system applied the certificate exactly once, under the task's key
    # (random, not derived from the case: ADR 0032).
    entries = httpx.get(f"{building}/_sim/ledger", timeout=10).json()["entries"]
    assert [(e["capability"], e["applied"], e["received"]) for e in entries] == [
        ("building.occupancy_certificate", 1, 1)
    ]
    assert app_id not in entries[0]["key"]
    assert len(entries[0]["key"]) >= 32
    assert entries[0]["response"]["status"] == "issued"
    assert entries[0]["response"]["max_occupants"] == 200
    taxed = [
        e
        for e in httpx.get(f"{tax}/_sim/ledger", timeout=10).json()["entries"]
        if e["capability"] == "tax.clearance_check"
    ]
    assert [(e["applied"], e["received"]) for e in taxed] == [(1, 1)]
    assert app_id not in taxed[0]["key"]


# --- apply-at-the-counter.md (ADR 0044) -------------------------------------------------------


async def test_the_counter_howto(settings: Settings, tmp_path: Path) -> None:
    """The page's persona is added to a copy of the blueprints; its numbered steps are then
    followed through the pages: Kai applies for Wei, prints the receipt; Wei takes it over."""
    from civicloom.app import create_app
    from civicloom.bootstrap import build_container
    from civicloom.demo import load_demo
    from civicloom.departments import CAPABILITY_GATEWAY
    from tests.registers import SeedRegister

    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "blueprints", root / "blueprints")
    found = snippets(HOWTOS / "apply-at-the-counter.md")
    assert [(s.title, s.append) for s in found] == [("blueprints/demo/personas.yaml", "personas")]
    for snippet in found:
        apply(snippet, root, {})
    container = build_container(settings.model_copy(update={"blueprints_dir": root / "blueprints"}))
    container.provide(CAPABILITY_GATEWAY, SeedRegister(container.find(CAPABILITY_GATEWAY)))
    await load_demo(container, progress=lambda _: None)
    kai = {"Authorization": "Bearer dev:kai", "Accept": "text/html"}
    wei = {"Authorization": "Bearer dev:wei", "Accept": "text/html"}
    try:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            # 2.1 the counter and the service
            home = await http.get("/counter", headers=kai)
            assert home.status_code == 200
            assert 'href="/counter/services/open-a-restaurant"' in home.text
            form = await http.get("/counter/services/open-a-restaurant", headers=kai)
            counter_id = re.search(r'name="counter_id" value="([^"]+)"', form.text)
            assert counter_id
            body = {
                "counter_id": counter_id[1],
                # 2.2 the identity check; 2.3 the personal number; 2.4 the declaration
                "id_name": "Wei Zhang",
                "id_document_type": "national-id-card",
                "id_document_number": "E 1234 5678",
                "id_personal_number": "wei",
                "id_declaration": "signed",
                # 2.5 the service's form
                "business_registration_number": "BR-2024-000888",
                "business_name": "Lotus Noodle House",
                "parcel_id": "P-0042-117",
                "premises_address": "3 Willow Street, Riverton",
                "seating": "30",
                "grease_trap": "yes",
                "staff_count": "4",
                "opening_date-day": "1",
                "opening_date-month": "4",
                "opening_date-year": "2099",
                "contact_email": "wei.family@example.org",
            }
            # 2.4: without the declaration nothing is sent
            unsigned = {k: v for k, v in body.items() if k != "id_declaration"}
            refused = await http.post(
                "/counter/services/open-a-restaurant", data=unsigned, headers=kai
            )
            assert refused.status_code == 400
            sent = await http.post("/counter/services/open-a-restaurant", data=body, headers=kai)
            assert sent.status_code == 200, sent.text[:2000]
            # 2.6 the reference and the code, once; the receipt PDF
            reference = re.search(r'id="reference">([A-Z0-9-]+)<', sent.text)
            code = re.search(r'id="claim-code">([A-Z0-9-]{19})<', sent.text)
            assert reference
            assert code
            assert "•••678" in sent.text
            pdf = await http.post(
                f"/counter/receipts/{counter_id[1]}/receipt.pdf",
                data={"code": code[1]},
                headers=kai,
            )
            assert pdf.status_code == 200
            assert pdf.content.startswith(b"%PDF")
            # 2.7 the documents the person brought
            add = re.search(
                r'href="(/counter/applications/[^"]+/documents)" id="add-documents"', sent.text
            )
            assert add
            upload_form = await http.get(add[1], headers=kai)
            action = re.search(
                r'action="(/counter/applications/[^"]+/documents\?csrf_token=[0-9a-f]+)"',
                upload_form.text,
            )
            assert action
            plan = ("plan.pdf", samples.pdf("Lotus Noodle House floor plan"), "application/pdf")
            added = await http.post(
                action[1], data={"document_type": "floor_plan"}, files={"file": plan}, headers=kai
            )
            assert added.status_code == 303, added.text[:2000]
            # 3.1-3.2 Wei takes it over (letter case and spaces do not matter)
            typed = code[1].lower().replace("-", " ")
            taken = await http.post("/claim", data={"code": typed}, headers=wei)
            assert taken.status_code == 303
            mine = await http.get("/applications", headers=wei)
            assert reference[1] in mine.text
            # 3.3 once
            again = await http.post("/claim", data={"code": code[1]}, headers=wei)
            assert again.status_code == 400
            # 3.4 the documents are Wei's to see; the counter form sent again changes nothing
            app_link = re.search(r'href="(/applications/[0-9a-f-]{36})"', mine.text)
            assert app_link
            assert "plan.pdf" in (await http.get(app_link[1], headers=wei)).text
            resent = await http.post("/counter/services/open-a-restaurant", data=body, headers=kai)
            assert resent.status_code == 409
            # 4. the list; once taken over, no new code is issued
            listed = await http.get("/counter/applications", headers=kai)
            assert reference[1] in listed.text
            assert "Taken over by the applicant" in listed.text
            late = await http.post(
                f"/counter/applications/{counter_id[1]}/code",
                data={"id_document_type": "national-id-card", "id_document_number": "E12345678"},
                headers=kai,
            )
            assert late.status_code == 400
    finally:
        await container.close()
        await container.database.dispose()
    assert not (PROJECT_ROOT / "blueprints" / "demo" / "personas.yaml").read_text().count("kai")


OIDC_APP = "http://testserver"


@pytest.mark.timeout(300)
async def test_identity_provider_claims_mapped_as_the_howto_says(project: Project) -> None:
    """map-identity-provider-claims.md (ADR 0042): the page's mapping passes its own check (and
    a group naming an unknown department fails it); signed in through a real OpenID provider
    with the page's groups, Kim is what the page says she is, and the page's listing shows
    her."""
    blocks = snippets(HOWTOS / "map-identity-provider-claims.md")
    assert [s.title for s in blocks] == [
        "staff-groups.json",
        "shell",
        "shell",
        "staff-users.json",
        "shell",
    ]
    mapping_file, check, listing, users_file, importing = blocks
    env = {**project.env, "COLUMNS": "200"}
    apply(mapping_file, project.root, env)
    checked = apply(check, project.root, env)[-1]
    for group in ("la-licensing", "la-supervisors", "la-admins", "tax-officers"):
        assert re.search(rf"{group}\s.*\sok", checked), checked
    assert "platform-operators" in checked

    # a mapping naming a department the platform does not know fails the page's own check
    mapping = json.loads((project.root / "staff-groups.json").read_text(encoding="utf-8"))
    wrong = project.root / "wrong-groups.json"
    wrong.write_text(json.dumps({"fish": {"department": "fisheries", "roles": ["officer"]}}))
    with pytest.raises(AssertionError, match="unknown-department"):
        apply(
            Snippet("shell", None, "civicloom staff check-mapping --file wrong-groups.json"),
            project.root,
            env,
        )

    accounts = project.root.parent / "accounts.json"
    accounts.write_text(
        json.dumps(
            {
                "kim": {
                    "name": "Kim Lee",
                    "email": "kim.lee@la.example.gov",
                    "groups": ["la-licensing", "vpn-users"],
                }
            }
        )
    )
    callback = f"{OIDC_APP}/auth/callback/staff"
    with run_provider([callback], [f"{OIDC_APP}/"], accounts) as provider:
        settings = Settings(
            profile=Profile.TEST,
            var_dir=Path(project.env["CIVICLOOM_VAR_DIR"]),
            blueprints_dir=project.root / "blueprints",
            public_url=OIDC_APP,
            oidc_staff_issuer=provider.issuer,
            oidc_staff_client_id=CLIENT_ID,
            oidc_staff_client_secret=SecretStr(CLIENT_SECRET),
            oidc_staff_scope="openid profile email roles",
            oidc_staff_group_mapping=mapping,
        )
        container = build_container(settings)
        try:
            transport = httpx.ASGITransport(app=create_app(container))
            async with httpx.AsyncClient(transport=transport, base_url=OIDC_APP) as browser:
                start = await browser.get("/auth/login", params={"audience": "staff"})
                back = await login_at_provider(start.headers["location"], "kim", callback)
                assert (await browser.get(back)).status_code == 303
                me = (await browser.get("/auth/me")).json()
        finally:
            await container.close()
            await container.database.dispose()
    assert (me["department"], me["roles"]) == ("local-admin", ["licensing-officer", "officer"])
    listed = apply(listing, project.root, env)[-1]
    assert re.search(r"kim\W+Kim Lee\W+licensing-officer, officer\W+available", listed), listed

    # 6. people before their first sign-in: Lena is imported and listed without signing in
    apply(users_file, project.root, env)
    dry, imported, listed = apply(importing, project.root, env)
    assert "Dry run: nothing was written." in dry
    assert re.search(
        r"lena\W+Lena Okafor\W+local-admin\W+licensing-officer, officer\W+added", imported
    ), imported
    assert re.search(r"lena\W+Lena Okafor\W+licensing-officer, officer\W+available", listed)
    # someone with no mapped group is skipped, named, and the command exits 1
    users = project.root / "more-users.json"
    users.write_text(json.dumps([{"externalId": "ola", "groups": [{"display": "vpn-users"}]}]))
    with pytest.raises(AssertionError, match="no-staff-role"):
        apply(
            Snippet(
                "shell", None, "civicloom staff import more-users.json --mapping staff-groups.json"
            ),
            project.root,
            env,
        )
