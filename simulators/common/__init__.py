"""Shared machinery for the department simulators (ledger, faults, admin API, runner)."""
