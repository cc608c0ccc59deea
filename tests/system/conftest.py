"""System tests run the whole platform as processes."""

from tests.system.platform import platform

__all__ = ["platform"]
