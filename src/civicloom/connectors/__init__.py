"""Department connectors: one plugin per kind of external system."""
