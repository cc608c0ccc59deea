"""Payment provider adapters."""

from civicloom.payments.adapters.sandbox import SandboxProvider

__all__ = ["SandboxProvider"]
