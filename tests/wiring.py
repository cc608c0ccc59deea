"""Swap one of the container's components in an app under test (FastAPI dependency overrides)."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from fastapi import FastAPI

from civicloom.bootstrap import wire_foundations
from civicloom.identity import RateLimiter
from civicloom.runtime import Container, Key
from civicloom.settings import Settings
from civicloom.web import component, optional_component
from civicloom.web.session import IDENTITY_RUNTIME

T = TypeVar("T")


def swap(app: FastAPI, key: Key[T], replacement: T) -> None:
    """Every route of ``app`` that depends on ``key`` receives ``replacement`` instead."""
    app.dependency_overrides[component(key)] = lambda: replacement
    app.dependency_overrides[optional_component(key)] = lambda: replacement


def reconfigure(container: Container, settings: Settings) -> None:
    """Give ``container`` other settings and rebuild what the composition root derives from them."""
    container.settings = settings
    wire_foundations(container)


def still_rate_limits(container: Container, at: float = 6000.0) -> None:
    """Count the container's rate limits at one instant inside one minute: a test that makes
    N + 1 requests against a limit of N must not see the window turn while a loaded machine
    runs it (the shared windows are one wall-clock minute each, ADR 0062)."""
    runtime = container.get(IDENTITY_RUNTIME)
    limiter = RateLimiter(container.database, runtime.rate_limiter.limits, now=lambda: at)
    container.provide(IDENTITY_RUNTIME, replace(runtime, rate_limiter=limiter))
