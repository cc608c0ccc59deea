"""A fee change and a new form field, drafted by Sam, as the tests of change requests use it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from civicloom.governance import (
    ChangeKind,
    Workspace,
    draft_change,
    edit_draft,
    get_change,
    model_for_edit,
    set_form_field,
    set_rule_cell,
    submit_change,
    update_tests,
)
from civicloom.identity import load_personas, principal_for_persona
from civicloom.kernel import FixedClock, Principal
from civicloom.rules import RULE_BOOK
from civicloom.runtime import Container

FEE = "local-admin/licence-fee"


def person(container: Container, persona: str) -> Principal:
    """The principal of a demo persona."""
    return principal_for_persona(load_personas(container.settings.blueprints_dir)[persona])


def workspace(container: Container) -> Workspace:
    """The container's workspace: its blueprints directory and rule book."""
    return Workspace(container.settings.blueprints_dir, container.get(RULE_BOOK))


async def drafted(container: Container, clock: FixedClock) -> str:
    """Sam's draft: the small band pays €500 instead of €400, and a new field for the
    number of outdoor seats (owned by local-admin)."""
    sam = person(container, "sam")
    ws = workspace(container)
    change_id = await draft_change(
        container.uow(),
        clock,
        ws,
        sam,
        kind=ChangeKind.BLUEPRINT,
        target="open-a-restaurant",
        title="Small-band fee €500 and outdoor seats",
    )
    change = await get_change(container.uow(), change_id)
    files, base = model_for_edit(ws, change.files, FEE)
    files = set_rule_cell(
        files, ref=FEE, table="fee-table", row="small", column="out_fee", value="500"
    )
    files = update_tests(
        files,
        ref=FEE,
        case="Golden Dragon Kitchen, 40 seats, pays the small-band fee",
        expect={"fee": 500},
    )
    files = with_outdoor_seats(files)
    await edit_draft(container.uow(), clock, sam, change_id, files, base)
    return change_id


def with_outdoor_seats(files: dict[str, str]) -> dict[str, str]:
    """The draft with a new optional field for outdoor seats, owned by local-admin."""
    return set_form_field(
        files,
        name="outdoor_seats",
        kind="integer",
        title_en="Outdoor seats",
        title_zh="室外座位数",
        page="premises",
        required=False,
        owner="local-admin",
        data_class="business",
        legal_basis="Food Business Licensing Act 2019, s. 12",
        retention="P6Y",
    )


async def submitted(container: Container, clock: FixedClock, days: int = 7) -> str:
    """Sam's draft submitted to take effect in ``days`` days."""
    change_id = await drafted(container, clock)
    await submit_change(
        container.uow(),
        clock,
        workspace(container),
        person(container, "sam"),
        change_id,
        clock.now() + timedelta(days=days),
    )
    return change_id


async def count(container: Container, table: str) -> int:
    """Rows of a table (refusals write none)."""
    from civicloom.schema import TABLES

    (row,) = [t for t in TABLES if t.__tablename__ == table]
    async with container.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(row)) or 0)


def start() -> FixedClock:
    """A test clock."""
    return FixedClock(datetime.now().astimezone())
