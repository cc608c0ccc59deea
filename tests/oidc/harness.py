"""Start ``tests/oidc/provider.mjs`` and drive its development login over HTTP."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "civicloom-test"
CLIENT_SECRET = "civicloom-test-secret-0123456789abcdef"
STAFF_ACCOUNTS = {
    "tariq": {"name": "Tariq Hussain", "roles": ["officer"], "department": "tax"},
    "nobody-staff": {"name": "No Roles"},
    "fisher": {"name": "Fish Er", "roles": ["officer"], "department": "fisheries"},
    # citizens whose provider claims a business: the register confirms Alice, not Bob
    "alice": {"name": "Alice Chen", "business_mandates": ["BR-2019-004211"]},
    "bob": {"name": "Bob Martins", "business_mandates": ["BR-2019-004211"]},
}


@dataclass(frozen=True)
class Provider:
    """A running provider."""

    issuer: str
    process: subprocess.Popen[str]


def provider_available() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        return "npm package oidc-provider is not installed (run npm install)"
    return None


@contextmanager
def run_provider(
    redirect_uris: list[str], post_logout_uris: list[str], accounts_file: Path | None = None
) -> Iterator[Provider]:
    """Run the provider until the block ends; waits (with a deadline) for its port. With
    ``accounts_file`` the provider reads the accounts' claims from that JSON file at every
    sign-in (write it to change someone's claims)."""
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout_uris,
    }
    env = {
        **os.environ,
        "OIDC_CLIENT": json.dumps(client),
        "OIDC_ACCOUNTS": json.dumps(STAFF_ACCOUNTS),
    }
    if accounts_file is not None:
        env["OIDC_ACCOUNTS_FILE"] = str(accounts_file)
    process = subprocess.Popen(
        ["node", str(SCRIPT)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 20
        port = None
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise RuntimeError(f"oidc provider exited with {process.returncode}")
            match = re.match(r"^PORT (\d+)$", line.strip())
            if match:
                port = int(match[1])
        if port is None:
            raise RuntimeError("oidc provider did not report its port in time")
        yield Provider(issuer=f"http://127.0.0.1:{port}", process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def login_at_provider(authorization_url: str, login: str, redirect_prefix: str) -> str:
    """Sign in at the provider's development login; returns the redirect back to the RP."""
    async with httpx.AsyncClient(timeout=10) as browser:
        url = authorization_url
        for _ in range(12):
            response = await browser.get(url)
            if response.status_code in (302, 303):
                location = urljoin(url, str(response.headers["location"]))
                if location.startswith(redirect_prefix):
                    return location
                url = location
                continue
            assert response.status_code == 200, response.text[:300]
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert action is not None, response.text[:500]
            submit = urljoin(url, str(action[1]))
            if 'name="login"' in response.text:
                form = {"prompt": "login", "login": login, "password": "any"}
            else:
                form = {"prompt": "consent"}
            posted = await browser.post(submit, data=form)
            assert posted.status_code in (302, 303), posted.text[:300]
            url = urljoin(submit, str(posted.headers["location"]))
            if url.startswith(redirect_prefix):
                return url
    raise AssertionError("the provider never redirected back")
