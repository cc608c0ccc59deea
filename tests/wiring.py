"""Swap one of the container's components in an app under test (FastAPI dependency overrides)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import FastAPI

from civicloom.bootstrap import wire_foundations
from civicloom.runtime import Container, Key
from civicloom.settings import Settings
from civicloom.web import component, optional_component

T = TypeVar("T")


def swap(app: FastAPI, key: Key[T], replacement: T) -> None:
    """Every route of ``app`` that depends on ``key`` receives ``replacement`` instead."""
    app.dependency_overrides[component(key)] = lambda: replacement
    app.dependency_overrides[optional_component(key)] = lambda: replacement


def reconfigure(container: Container, settings: Settings) -> None:
    """Give ``container`` other settings and rebuild what the composition root derives from them."""
    container.settings = settings
    wire_foundations(container)
