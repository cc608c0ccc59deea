"""The demo world: loading its departments, services and agreements from ``blueprints/``
(``load_demo``), the load generator that runs realistic applications through it
(``run_loadgen``) and Alice's answers to its restaurant form (``RESTAURANT_ANSWERS``)."""

from civicloom.demo.answers import RESTAURANT_ANSWERS
from civicloom.demo.load import DemoReport, load_demo
from civicloom.demo.loadgen import LoadReport, SimulatedClock, demo_gateway, run_loadgen
from civicloom.demo.seed import SeedRefused, SeedReport, seed_applications

__all__ = [
    "RESTAURANT_ANSWERS",
    "DemoReport",
    "LoadReport",
    "SeedRefused",
    "SeedReport",
    "SimulatedClock",
    "demo_gateway",
    "load_demo",
    "run_loadgen",
    "seed_applications",
]
