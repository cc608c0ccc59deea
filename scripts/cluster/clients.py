"""A cluster's first machine client: blueprints published and an API key issued straight into
its database, as an operator would with ``civicloom`` commands on one host (production profile:
there is no dev login to get a token from)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from civicloom.bootstrap import build_container
from civicloom.catalogue import Blueprint, publish_blueprint
from civicloom.identity.apikeys import create_api_key
from scripts.cluster.topology import Cluster


async def _prepare(cluster: Cluster, blueprints: Sequence[Blueprint], actor: str) -> str:
    container = build_container(cluster.settings())
    try:
        async with container.uow() as uow:
            for blueprint in blueprints:
                await publish_blueprint(uow.session, blueprint, container.clock.now(), actor=actor)
            await uow.commit()
        issued = await create_api_key(
            container.uow(),
            container.clock,
            name="Counter service",
            department="local-admin",
            scopes=["applications:write", "applications:read"],
        )
    finally:
        await container.database.dispose()
    return issued.key


def counter_service(cluster: Cluster, blueprints: Sequence[Blueprint], *, actor: str) -> str:
    """Publish ``blueprints`` (as ``actor``) and issue a counter service's key (the local
    administration's machine client, which may submit applications and read its own)."""
    return asyncio.run(_prepare(cluster, blueprints, actor))
