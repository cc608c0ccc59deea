"""Identity: who is calling. Demo personas for the dev login; OpenID Connect arrives later."""

from civicloom.identity.personas import Persona, load_personas, principal_for_persona

__all__ = ["Persona", "load_personas", "principal_for_persona"]
