"""The demo world: loading its departments, services and agreements from ``blueprints/``
(``load_demo``) and the load generator that runs realistic applications through it
(``run_loadgen``)."""

from civicloom.demo.load import DemoReport, load_demo
from civicloom.demo.loadgen import LoadReport, SimulatedClock, demo_gateway, run_loadgen

__all__ = ["DemoReport", "LoadReport", "SimulatedClock", "demo_gateway", "load_demo", "run_loadgen"]
