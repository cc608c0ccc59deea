"""Command-line and environment configuration common to every simulator."""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def env_name(department: str, option: str) -> str:
    """Return the environment variable for an option, e.g. SIM_TAX_PORT."""
    return f"SIM_{department.upper()}_{option.upper().replace('-', '_')}"


class SimArgumentParser(argparse.ArgumentParser):
    """Argument parser whose options default to SIM_<DEPARTMENT>_<OPTION> env vars."""

    def __init__(self, department: str) -> None:
        """Create the parser with the options every simulator shares."""
        super().__init__(prog=f"python -m simulators.{department}")
        self.department = department
        self.option("--host", default="127.0.0.1", help="interface to bind")
        self.option("--port", type=int, default=0, help="HTTP port (0 = any free port)")
        self.option("--data-dir", default=None, help="directory for the SQLite ledger")
        self.option("--seed", type=int, default=0, help="seed of the fault RNG")
        self.option("--faults", default=None, help="JSON file with the initial faults")
        self.option("--log-level", default="INFO", help="logging level")

    def option(self, flag: str, **kwargs: Any) -> None:
        """Add ``flag`` with its default taken from the environment when set."""
        name = env_name(self.department, flag.lstrip("-"))
        raw = os.environ.get(name)
        if raw is not None:
            kind = kwargs.get("type")
            kwargs["default"] = kind(raw) if callable(kind) else raw
        kwargs["help"] = f"{kwargs.get('help', '')} (env {name})"
        self.add_argument(flag, **kwargs)


@dataclass(frozen=True)
class CommonOptions:
    """Options shared by all simulators, after defaults are resolved."""

    department: str
    host: str
    port: int
    data_dir: Path
    seed: int
    faults_file: str | None
    log_level: str


def common_options(department: str, ns: argparse.Namespace) -> CommonOptions:
    """Build CommonOptions from parsed arguments, creating the data dir."""
    data_dir = (
        Path(ns.data_dir)
        if ns.data_dir
        else Path(tempfile.mkdtemp(prefix=f"civicloom-sim-{department}-"))
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    return CommonOptions(
        department=department,
        host=str(ns.host),
        port=int(ns.port),
        data_dir=data_dir,
        seed=int(ns.seed),
        faults_file=ns.faults,
        log_level=str(ns.log_level),
    )
