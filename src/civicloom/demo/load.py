"""Loading the demo world: departments, service blueprints and staff from ``blueprints/``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from civicloom.catalogue import (
    check_department_contracts,
    load_agreements,
    load_blueprints,
    publish_blueprint,
    require_ownership,
)
from civicloom.departments import load_departments, sync_departments
from civicloom.identity import demo_staff, load_demo_staff
from civicloom.registries import sync_agreements
from civicloom.runtime import Container


@dataclass(frozen=True)
class DemoReport:
    """What ``demo load`` did."""

    departments: int
    blueprints_published: int
    blueprints_total: int


async def load_demo(container: Container, progress: Callable[[str], object] = print) -> DemoReport:
    """Register departments, publish blueprints, load the demo personas into the staff directory
    and store the data-sharing agreements (safe to repeat: unchanged definitions are left
    alone)."""
    blueprints_dir = container.settings.blueprints_dir
    departments = load_departments(blueprints_dir)
    blueprints = load_blueprints(blueprints_dir)
    published = 0
    async with container.uow() as uow:
        now = container.clock.now()
        await check_department_contracts(uow.session, departments)
        await sync_departments(uow.session, departments, now)
        progress(f"departments: {', '.join(d.id for d in departments)}")
        known = frozenset(d.id for d in departments)
        for blueprint in blueprints:
            require_ownership(blueprint, known)  # every field owned, classed, kept (ADR 0050)
            _, created = await publish_blueprint(
                uow.session, blueprint, now, actor="system:demo-load"
            )
            published += int(created)
            state = "published" if created else "unchanged"
            progress(f"blueprint {blueprint.id} v{blueprint.version}: {state}")
        staff = await load_demo_staff(uow.session, demo_staff(blueprints_dir), now)
        progress(f"staff directory: {staff} personas new or changed")
        await uow.commit()
    agreements = load_agreements(blueprints_dir)
    changed = await sync_agreements(container.uow(), container.clock, agreements)
    progress(f"data-sharing agreements: {len(agreements)} ({changed} new or changed)")
    return DemoReport(len(departments), published, len(blueprints))
