"""Tax Authority simulator: a modern REST API (clearance checks, taxpayer register)."""
