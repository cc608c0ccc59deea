"""``civicloom verify <file-or-token>`` and ``civicloom documents purge``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from civicloom.audit import PublicKeySet
from civicloom.db import Database, UnitOfWork
from civicloom.documents.domain import LicenceStatus, LicenceVerification
from civicloom.documents.licences import verify_token, verify_token_offline
from civicloom.documents.pdf import extract_token
from civicloom.documents.retention import purge_expired_documents
from civicloom.documents.runtime import build_documents_runtime
from civicloom.kernel import SystemClock
from civicloom.settings import get_settings

console = Console()
documents_app = typer.Typer(
    help="Stored documents.", no_args_is_help=True, pretty_exceptions_enable=False
)
EXIT_CODES = {
    LicenceStatus.VALID: 0,
    LicenceStatus.EXPIRED: 3,
    LicenceStatus.NOT_YET_VALID: 3,
    LicenceStatus.REVOKED: 4,
    LicenceStatus.FORGED: 5,
}


def _token_from(argument: str) -> str:
    path = Path(argument)
    if len(argument) < 4096 and path.is_file():
        data = path.read_bytes()
        token = extract_token(data)
        if token is None:
            token = data.decode("ascii", "replace").strip()
        return token
    return argument.strip()


def verify(
    file_or_token: Annotated[str, typer.Argument(help="A licence PDF, or its compact JWS.")],
    jwks: Annotated[
        Path | None,
        typer.Option(help="Published keys (JWKS file): verify offline, without the database."),
    ] = None,
) -> None:
    """Say whether a licence is valid, expired, revoked or forged (exit 0, 3, 4, 5)."""
    token = _token_from(file_or_token)
    now = SystemClock().now()
    if jwks is not None:
        keys = PublicKeySet.from_jwks(json.loads(jwks.read_text(encoding="utf-8")))
        result = verify_token_offline(token, keys, now)
    else:
        settings = get_settings()

        async def online() -> LicenceVerification:
            database = Database(settings.effective_database_url)
            try:
                return await verify_token(
                    UnitOfWork(database), build_documents_runtime(settings), now, token
                )
            finally:
                await database.dispose()

        result = asyncio.run(online())
    claims = result.claims or {}
    colour = "green" if result.status is LicenceStatus.VALID else "red"
    console.print(f"[{colour}]{result.status.value.upper()}[/{colour}]: {result.reason}")
    if claims:
        console.print(
            f"licence {claims.get('jti')} · {claims.get('activity')} · "
            f"{(claims.get('holder') or {}).get('name')} · issued by {claims.get('dept')}"
        )
    if not result.revocation_checked and result.status is not LicenceStatus.FORGED:
        console.print("revocation not checked (offline): see the verification page for that")
    raise typer.Exit(EXIT_CODES[result.status])


@documents_app.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option(help="Only list what would be removed.")] = False,
) -> None:
    """Remove documents whose retention period has ended (logged and audited)."""
    settings = get_settings()

    async def main() -> int:
        database = Database(settings.effective_database_url)
        try:
            runtime = build_documents_runtime(settings)
            removed = await purge_expired_documents(
                UnitOfWork(database), runtime.store, SystemClock(), dry_run
            )
        finally:
            await database.dispose()
        for doc in removed:
            console.print(
                f"{'would remove' if dry_run else 'removed'} {doc.id} "
                f"({doc.document_type}, {doc.size_bytes} bytes)"
            )
        return len(removed)

    count = asyncio.run(main())
    console.print(f"{count} document(s) {'due' if dry_run else 'purged'}")
