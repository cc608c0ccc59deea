"""civicloom: one journey, one status and one audit trail across government departments."""

__version__ = "0.1.0"
