"""Seed data: JSON files shipped with each simulator plus deterministic generation."""

from __future__ import annotations

import json
import random
from importlib import resources
from typing import Any


def load_seed(package: str, name: str) -> Any:
    """Load ``<package>/seed/<name>`` as JSON."""
    text = resources.files(package).joinpath("seed", name).read_text(encoding="utf-8")
    return json.loads(text)


def generated_businesses() -> list[dict[str, Any]]:
    """Generate the few hundred demo businesses, deterministically from the spec file."""
    spec = load_seed("simulators.common", "generated_businesses.json")
    rng = random.Random(int(spec["seed"]))
    out: list[dict[str, Any]] = []
    for i in range(1, int(spec["count"]) + 1):
        first = rng.choice(spec["first_names"])
        last = rng.choice(spec["last_names"])
        name = f"{rng.choice(spec['adjectives'])} {rng.choice(spec['nouns'])} Ltd"
        street = rng.choice(spec["streets"])
        number = rng.randint(1, 400)
        parcel = f"P-{rng.randint(100, 999):04d}-{rng.randint(1, 999):03d}"
        out.append(
            {
                "registration_number": f"{spec['prefix']}{i:06d}",
                "name": name,
                "status": "active",
                "director_name": f"{first} {last}",
                "director_person_id": f"person-{i:06d}",
                "director_national_id": f"NID-{rng.randint(1950, 2000)}-{i:04d}",
                "registered_address": f"{number} {street}, {spec['city']}",
                "parcel_id": parcel,
                "staff_count": rng.randint(1, 40),
            }
        )
    return out
